"""Being told that jobs ended (succeeded, failed for good, canceled), for whoever waits on
one: PostgreSQL's LISTEN/NOTIFY; on SQLite, the database file's commit counter.

On PostgreSQL the transaction that ends a job NOTIFYs ``JOB_ENDED_CHANNEL`` with the job's
id (``announce_ended``), so a ``PostgresJobEnds`` in any API process on any machine hears
it when it commits. SQLite cannot notify, but all its processes share one machine and one
file: ``PRAGMA data_version`` changes whenever another connection commits, and reading it
is a look at shared memory, not a query of the jobs table. A ``SqliteCommits`` looks at it
when the write-ahead log is written to (Linux's inotify; each commit writes it), and on a
timer as well, and says that something was committed, not which job ended.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.types import Text

from darkroom.store.inotify import FileWrites

JOB_ENDED_CHANNEL = "darkroom_job_ended"
SQLITE_LOOK_EVERY_S = 0.01  # without inotify
SQLITE_SAFETY_LOOK_S = 0.1  # with it: a look now and then all the same
# After a write to the log, the commit shows once SQLite has updated the log's index in
# shared memory, just after the write: looks again after these pauses (s) until it does.
SQLITE_LOOKS_AFTER_A_WRITE_S = (0.0, 0.0005, 0.001, 0.002, 0.005)

_NOTIFY_ENDED = text(
    f"SELECT pg_notify('{JOB_ENDED_CHANNEL}', ended.id) FROM unnest(:ids) AS ended(id)"
).bindparams(bindparam("ids", type_=ARRAY(Text)))


def announce_ended(conn: Connection, job_ids: Collection[str]) -> None:
    """Tell the listeners, when this transaction commits, that these jobs ended
    (PostgreSQL; SQLite's processes see the commit itself)."""
    if job_ids and conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY_ENDED, {"ids": list(job_ids)})


class PostgresJobEnds:
    """A connection of its own LISTENing on ``JOB_ENDED_CHANNEL``."""

    precise = True  # names the jobs that ended

    def __init__(self, libpq_url: str) -> None:
        self._url = libpq_url

    async def ended(self) -> AsyncIterator[frozenset[str] | None]:
        """The ids of jobs that ended, as they are announced; raises when the connection
        fails (open another iterator to listen again)."""
        import psycopg

        conn: Any = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        try:
            await conn.execute(f"LISTEN {JOB_ENDED_CHANNEL}")
            async for notice in conn.notifies():
                yield frozenset((notice.payload,))
        finally:
            await conn.close()


class SqliteCommits:
    """The database file's commit counter (``PRAGMA data_version``), read on the event
    loop: a few microseconds, no table read."""

    precise = False  # says that something was committed, not what

    def __init__(self, path: str, every_s: float = SQLITE_LOOK_EVERY_S) -> None:
        self._path = path
        self.every_s = every_s  # between looks where the log's writes cannot be watched

    async def ended(self) -> AsyncIterator[frozenset[str] | None]:
        """None each time another connection has committed since the last look."""
        conn = sqlite3.connect(self._path, timeout=0.05, check_same_thread=False)
        seen = _data_version(conn)  # the log exists from here on, while conn is open
        wal = f"{self._path}-wal"
        writes = FileWrites.open(wal) if os.path.exists(wal) else None
        try:
            while True:
                if writes is None:
                    await asyncio.sleep(self.every_s)
                    looks: Sequence[float] = (0.0,)
                elif await writes.wait(SQLITE_SAFETY_LOOK_S):
                    looks = SQLITE_LOOKS_AFTER_A_WRITE_S
                else:
                    looks = (0.0,)
                for pause in looks:
                    if pause:
                        await asyncio.sleep(pause)
                    version = _data_version(conn)
                    if version != seen:
                        seen = version
                        yield None
                        break
        finally:
            if writes is not None:
                writes.close()
            conn.close()


def _data_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA data_version").fetchone()
    return int(row[0])


def open_job_ends(engine: Engine) -> PostgresJobEnds | SqliteCommits | None:
    """How to hear of ended jobs on this database; None where there is no way (an
    in-memory SQLite database has no other connections)."""
    if engine.dialect.name == "postgresql":
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresJobEnds(url)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return SqliteCommits(database)
    return None
