"""The schema comes from Alembic migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from darkroom.store import open_engine
from darkroom.store.migrate import FIRST_REVISION, alembic_config
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
