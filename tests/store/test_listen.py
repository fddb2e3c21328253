"""Workers on PostgreSQL are told of queued jobs by NOTIFY; SQLite offers nothing to listen to."""

from __future__ import annotations

from pathlib import Path

from darkroom.queue.doorbell import wait_for_doorbells
from darkroom.store import JobStore, open_engine, open_job_listener
from tests.helpers import new_job


def test_a_committed_job_wakes_a_listener(postgres_url: str) -> None:
    store = JobStore(open_engine(postgres_url))
    listener = open_job_listener(store.engine)
    assert listener is not None
    try:
        assert not wait_for_doorbells([listener], 0.05)
        store.insert(new_job("a"))
        assert wait_for_doorbells([listener], 5)
        assert not wait_for_doorbells([listener], 0.05)  # drained

        claimed = store.claim("w", limit=1, lease_s=30)
        store.fail(claimed[0].id, "w", code="timeout", message="slow", retry_at=None)
        wait_for_doorbells([listener], 0.05)
        store.requeue_failed("a")  # a retry asked for through the API queues it again
        assert wait_for_doorbells([listener], 5)
    finally:
        listener.close()


def test_sqlite_has_no_listener(tmp_path: Path) -> None:
    assert open_job_listener(open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")) is None
