"""The queue is the jobs table itself: claims with SKIP LOCKED, and, on PostgreSQL, a
LISTEN connection that wakes idle workers when a job is queued anywhere."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence

from darkroom.jobs.model import Job
from darkroom.queue.doorbell import Doorbell, wait_for_doorbells
from darkroom.store import JobListener, JobStore, open_job_listener

log = logging.getLogger("darkroom.queue")

RELISTEN_AFTER_S = 30.0  # a lost listener is opened again after this long


class DatabaseQueue:
    takes_from_store = True

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._listener: JobListener | None = None
        self._can_listen = True  # False where the database cannot notify (SQLite)
        self._listener_lost_at = -RELISTEN_AFTER_S

    def announce(self, job_ids: Sequence[str]) -> None:
        """Nothing to do: the store NOTIFYs in the transaction that queues the jobs."""

    def take(self, worker_id: str, *, lease_s: float, limit: int = 1) -> list[Job]:
        return self.store.claim(worker_id, limit=limit, lease_s=lease_s)

    def wait(self, timeout_s: float, doorbells: Sequence[Doorbell] = ()) -> bool:
        listener = self._listen()
        try:
            return wait_for_doorbells([*doorbells, *([listener] if listener else [])], timeout_s)
        except Exception:
            log.warning("lost the database listener; polling until it is back")
            self._drop_listener()
            self._listener_lost_at = time.monotonic()
            return True

    def renew(self, job_ids: Sequence[str]) -> None:
        """Nothing to do: the worker's heartbeat renews the leases in the store."""

    def settle(self, job_ids: Sequence[str]) -> None:
        """Nothing to do: the stored outcome takes a job off the queue."""

    def ping(self) -> None:
        """The queue is the jobs table: it answers when the database does."""
        self.store.ping()

    def close(self) -> None:
        self._drop_listener()

    def _listen(self) -> JobListener | None:
        """The listener, opened on first use and again a while after it is lost."""
        lost_for = time.monotonic() - self._listener_lost_at
        if self._listener is None and self._can_listen and lost_for >= RELISTEN_AFTER_S:
            try:
                self._listener = open_job_listener(self.store.engine)
                self._can_listen = self._listener is not None
            except Exception:
                log.warning("cannot listen for queued jobs; polling meanwhile", exc_info=True)
                self._listener_lost_at = time.monotonic()
        return self._listener

    def _drop_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None
