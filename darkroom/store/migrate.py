"""Bringing a database's schema up to date with Alembic, safely from many processes at once."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection

# Any fixed number: the PostgreSQL advisory lock that serialises migrating processes.
_MIGRATION_LOCK = 0x6461726B726F6F6D  # "darkroom"
FIRST_REVISION = "0001"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "darkroom.store:migrations")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied. API and worker processes all call this at
    start-up; on PostgreSQL they take turns on an advisory lock, on SQLite the write
    transaction serialises them."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config = alembic_config(conn)
        tables = set(inspect(conn).get_table_names())
        if "jobs" in tables and "alembic_version" not in tables:
            # made by darkroom 0.1's create_all(): the same schema as the first migration
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")
