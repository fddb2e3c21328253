"""A claim reads the head of the queue off an index: its work does not grow with the
backlog (it used to gather and sort every queued row on each claim)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from darkroom.store import JobStore, open_engine
from darkroom.store.job_statements import insert_rows
from darkroom.store.tables import jobs
from tests.helpers import new_job


def _store_with_queue(path: Path, queued: int) -> tuple[JobStore, list[int]]:
    """A SQLite store holding ``queued`` jobs, and a counter of the virtual machine steps
    (in hundreds) that its connections run from then on."""
    store = JobStore(open_engine(f"sqlite:///{path}"))
    with store.engine.begin() as conn:
        batch = [new_job(f"j{i:06}", 1000.0 + i) for i in range(queued)]
        conn.execute(insert(jobs), insert_rows(batch))
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # go on

    def watch(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.set_progress_handler(count, 100)

    store.engine.dispose()  # from here on every connection is a new, watched one
    event.listen(store.engine, "connect", watch)
    return store, steps


def _steps_of_one_claim(path: Path, queued: int) -> int:
    store, steps = _store_with_queue(path, queued)
    claimed = store.claim("w", limit=2, lease_s=30)
    assert [job.id for job in claimed] == ["j000000", "j000001"]
    return steps[0]


def test_a_claim_costs_the_same_on_a_deep_queue(tmp_path: Path) -> None:
    shallow = _steps_of_one_claim(tmp_path / "shallow.db", 20)
    deep = _steps_of_one_claim(tmp_path / "deep.db", 5000)
    assert deep < 2 * shallow + 10, (shallow, deep)  # sorting the queue: ~100 times as many
