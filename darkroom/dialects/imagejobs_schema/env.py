"""Alembic environment of the imagejobs dialect's schema (darkroom.store.migration_env)."""

from darkroom.store.migration_env import run

run()
