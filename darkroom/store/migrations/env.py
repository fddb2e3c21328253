"""Alembic environment of the core's schema (darkroom.store.migration_env)."""

from darkroom.store.migration_env import run

run()
