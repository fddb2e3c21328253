"""Which errors are a write refused for want of space (jobs/space.py): the errors the
drivers really raise, wrapped as the service meets them."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import psycopg.errors
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from darkroom.jobs.space import out_of_space


def test_full_disks_and_quotas_are_out_of_space_other_os_errors_are_not() -> None:
    for code in (errno.ENOSPC, errno.EDQUOT):
        assert out_of_space(OSError(code, os.strerror(code)))
    # a limit on one file's size: freeing space does not cure it
    assert not out_of_space(OSError(errno.EFBIG, os.strerror(errno.EFBIG)))
    assert not out_of_space(FileNotFoundError(errno.ENOENT, "gone"))
    assert not out_of_space(ValueError("no space"))


def test_a_full_sqlite_database_is_out_of_space_raw_or_through_sqlalchemy(
    tmp_path: Path,
) -> None:
    """SQLite's own SQLITE_FULL, from a database held to two pages (max_page_count)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'small.db'}")
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("PRAGMA max_page_count = 2"))
        with pytest.raises(OperationalError) as raised:
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 100_000})
    assert "database or disk is full" in str(raised.value)
    assert isinstance(raised.value.orig, sqlite3.Error)
    assert out_of_space(raised.value) and out_of_space(raised.value.orig)
    assert not out_of_space(sqlite3.OperationalError("database is locked"))


def test_postgresql_disk_full_and_chained_errors() -> None:
    disk_full = psycopg.errors.DiskFull("could not extend file: No space left on device")
    assert out_of_space(OperationalError("INSERT", {}, disk_full))
    assert not out_of_space(OperationalError("INSERT", {}, psycopg.errors.QueryCanceled()))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("storing failed") from exc
    except RuntimeError as chained:
        assert out_of_space(chained)
