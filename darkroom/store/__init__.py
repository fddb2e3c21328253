"""Job state in SQL (SQLite by default, PostgreSQL by URL), through SQLAlchemy Core."""

from darkroom.store.database import open_engine
from darkroom.store.jobs import JobStore, Stats
from darkroom.store.listen import JobListener, open_job_listener

__all__ = ["JobListener", "JobStore", "Stats", "open_engine", "open_job_listener"]
