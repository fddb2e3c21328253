"""The schema comes from Alembic migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection

from darkroom.dialects.greenvue_schema import SCHEMA as GREENVUE
from darkroom.dialects.imagejobs_schema import SCHEMA as IMAGEJOBS
from darkroom.store import open_engine
from darkroom.store.migrate import FIRST_REVISION, Schema, alembic_config, upgrade
from darkroom.store.tables import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_migrated_schema_is_what_the_code_queries(database_url: str) -> None:
    engine = open_engine(database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        tables = set(inspect(conn).get_table_names())
    assert {"jobs", "job_labels", "workers", "alembic_version"} <= tables


def _start(url: str) -> None:
    open_engine(url).dispose()


def test_many_processes_starting_at_once_migrate_once(database_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=_start, args=(database_url,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    with open_engine(database_url, migrate=False).connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None


def test_a_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    with create_engine(url).begin() as conn:  # darkroom 0.1's schema, made by create_all:
        command.upgrade(alembic_config(conn), FIRST_REVISION)  # the first migration's tables
        conn.execute(text("DROP TABLE alembic_version"))  # and no record of migrations
    engine = open_engine(url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None


@pytest.mark.parametrize("schema", [IMAGEJOBS, GREENVUE], ids=["imagejobs", "greenvue"])
def test_a_dialect_migrates_its_own_tables(database_url: str, schema: Schema) -> None:
    """A dialect's tables are made by its own migrations, recorded in its own version
    table; the core's schema has none of them."""
    engine = open_engine(database_url)
    with engine.connect() as conn:
        core_tables = set(inspect(conn).get_table_names())
    assert not core_tables & set(schema.metadata.tables)
    upgrade(engine, schema)
    upgrade(engine, schema)  # a second process starting finds nothing to do
    with engine.connect() as conn:
        assert _differences(conn, schema) == []
        versions = conn.execute(text(f"SELECT version_num FROM {schema.version_table}"))
        assert [v for (v,) in versions] == ["0001"]


def test_a_dialect_adopts_the_tables_the_core_once_made(tmp_path: Path) -> None:
    """Before dialects had migrations of their own, the core's revisions 0003 and 0004
    made their tables; such a database keeps its rows."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = open_engine(url)
    IMAGEJOBS.metadata.create_all(engine)  # as the core's old 0003 left them
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO image_jobs VALUES ('a' || hex(randomblob(11)), 'event', 'e1', "
                "'raw/k', 'u', NULL, NULL, 'PENDING', '', 'f', 'image/jpeg', 1, 0, 0, NULL)"
            )
        )
    upgrade(engine, IMAGEJOBS)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM image_jobs")).scalar_one() == 1
        assert _differences(conn, IMAGEJOBS) == []


def _differences(conn: Connection, schema: Schema) -> list[object]:
    """How the database differs from ``schema``'s tables, other schemas' tables aside."""

    def own(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
        return kind != "table" or name in schema.metadata.tables

    context = MigrationContext.configure(conn, opts={"include_object": own})
    return list(compare_metadata(context, schema.metadata))
