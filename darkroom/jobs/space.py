"""A write refused for want of space, told apart from other storage errors: a full disk or
a quota (ENOSPC, EDQUOT), SQLite's "database or disk is full", PostgreSQL's ``disk_full``.
It is neither the request's fault nor the job's, and ends when space is freed: the API
answers 507 ``insufficient_storage`` and workers wait (docs/security.md, "A full disk").

EFBIG ("file too large": a limit on one file, RLIMIT_FSIZE or the file system's) is not
one of them: freeing space does not cure it, so it stays an ordinary storage error."""

from __future__ import annotations

import errno
import sqlite3

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
PG_DISK_FULL = "53100"  # SQLSTATE disk_full


def out_of_space(exc: BaseException) -> bool:
    """Whether ``exc``, or what it wraps (SQLAlchemy's ``orig``, an explicit ``raise …
    from``), is a write refused for want of space."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _no_space(current):
            return True
        wrapped = getattr(current, "orig", None)  # sqlalchemy.exc.DBAPIError's driver error
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__
    return False


def _no_space(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in NO_SPACE_ERRNOS
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    # psycopg's errors carry their SQLSTATE as ``sqlstate``, psycopg2's as ``pgcode``
    return PG_DISK_FULL in (getattr(exc, "sqlstate", None), getattr(exc, "pgcode", None))
