"""What every Alembic env.py of darkroom runs (the core's and each dialect's): the
migrations on the connection darkroom.store.migrate hands over, with that schema's
metadata and version table."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection


def run() -> None:
    attributes = context.config.attributes
    connection: Connection = attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=attributes["metadata"],
        version_table=attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
