"""Engine creation: SQLite in WAL mode with immediate write transactions, or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event

from darkroom.store.migrate import upgrade


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


_READ_ONLY = "darkroom_read_only"


def reader_of(engine: Engine) -> Engine:
    """The same engine (and pool) for transactions that only read."""
    return engine.execution_options(**{_READ_ONLY: True})


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE can be issued:
        # a deferred transaction that later writes can fail with "database is locked"
        # without waiting, where an immediate one waits its turn (busy_timeout).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads begin deferred: under WAL they then run beside the writer, not after it.
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    if url.startswith("sqlite"):
        db_file = url.split(":///", 1)[-1]
        if db_file and db_file != ":memory:":
            Path(db_file).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_serializer=_dumps,
            json_deserializer=orjson.loads,
        )
        _prepare_sqlite(engine)
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        try:
            engine = create_engine(
                url, pool_pre_ping=True, json_serializer=_dumps, json_deserializer=orjson.loads
            )
        except ModuleNotFoundError as exc:
            raise RuntimeError(
                f"DARKROOM_DATABASE_URL needs a driver that is not installed ({exc.name}): "
                "pip install 'darkroom[postgres]'"
            ) from exc
    if migrate:
        upgrade(engine)
    return engine
