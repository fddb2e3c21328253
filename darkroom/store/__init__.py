"""Job state in SQL (SQLite by default, PostgreSQL by URL), through SQLAlchemy Core."""

from darkroom.store.database import open_engine
from darkroom.store.jobs import JobStore, Stats

__all__ = ["JobStore", "Stats", "open_engine"]
