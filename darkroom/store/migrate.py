"""Bringing a database's schema up to date with Alembic, safely from many processes at once.

The core's tables have one migration history (darkroom/store/migrations, version table
``alembic_version``); each drop-in dialect with tables of its own has another, with its
own version table, applied only where that dialect is enabled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.engine import Connection

from darkroom.store.tables import metadata as core_metadata

if TYPE_CHECKING:
    from alembic.config import Config

# Any fixed number: the PostgreSQL advisory lock that serialises migrating processes.
_MIGRATION_LOCK = 0x6461726B726F6F6D  # "darkroom"
FIRST_REVISION = "0001"


@dataclass(frozen=True)
class Schema:
    """One migration history: where its scripts are, the tables they make, and the table
    that records which have run."""

    script_location: str
    metadata: MetaData
    version_table: str


CORE = Schema("darkroom.store:migrations", core_metadata, "alembic_version")


def alembic_config(connection: Connection | None = None, schema: Schema = CORE) -> Config:
    # Imported here: Alembic is 11 MiB of a process's memory, and worker processes that
    # their supervisor migrated for (open_engine's migrate=False) never load it.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", schema.script_location)
    config.attributes["connection"] = connection
    config.attributes["metadata"] = schema.metadata
    config.attributes["version_table"] = schema.version_table
    return config


def upgrade(engine: Engine, schema: Schema = CORE) -> None:
    """Apply every migration of ``schema`` not yet applied. API and worker processes all
    call this at start-up; on PostgreSQL they take turns on an advisory lock, on SQLite
    the write transaction serialises them."""
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config = alembic_config(conn, schema)
        tables = set(inspect(conn).get_table_names())
        if schema is CORE and "jobs" in tables and "alembic_version" not in tables:
            # made by darkroom 0.1's create_all(): the same schema as the first migration
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")
