"""Being told that work was queued: PostgreSQL's LISTEN/NOTIFY; SQLite has no such thing.

``JobStore`` sends a NOTIFY on ``JOBS_CHANNEL`` in the transaction that queues a job, so a
worker on any machine blocked on a ``JobListener`` wakes when it commits, instead of
finding the job at its next poll.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

JOBS_CHANNEL = "darkroom_jobs"
NOTIFY_JOBS = text(f"NOTIFY {JOBS_CHANNEL}")


class JobListener:
    """A connection of its own LISTENing on ``JOBS_CHANNEL``: readable (``fileno``) when a
    notification has arrived, which ``drain`` then consumes."""

    def __init__(self, libpq_url: str) -> None:
        import psycopg

        self._conn: Any = psycopg.connect(libpq_url, autocommit=True)
        self._conn.execute(f"LISTEN {JOBS_CHANNEL}")

    def fileno(self) -> int:
        fd: int = self._conn.fileno()
        return fd

    def drain(self) -> None:
        for _ in self._conn.notifies(timeout=0):
            pass

    def close(self) -> None:
        self._conn.close()


def open_job_listener(engine: Engine) -> JobListener | None:
    """A listener on this database, or None where the database cannot notify (SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return JobListener(url)
