"""What workers and the API need from a job queue. Job state always lives in the store;
a queue decides which job a worker takes next and how an idle worker learns of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from darkroom.jobs.model import Job
from darkroom.queue.doorbell import Doorbell


class JobQueue(Protocol):
    takes_from_store: bool
    """True where ``take`` is the store's claim (the database queue): a worker may then
    claim its next job in the transaction that stores an outcome (succeed_and_claim)."""

    def announce(self, job_ids: Sequence[str]) -> None:
        """Jobs were queued (their rows committed): make them known to workers."""

    def take(self, worker_id: str, *, lease_s: float, limit: int = 1) -> list[Job]:
        """Up to ``limit`` jobs for this worker, claimed in the store under its lease."""

    def wait(self, timeout_s: float, doorbells: Sequence[Doorbell] = ()) -> bool:
        """Block up to ``timeout_s`` for work to appear (or one of ``doorbells`` to ring);
        True when woken early."""

    def renew(self, job_ids: Sequence[str]) -> None:
        """The jobs are still running here (called with each heartbeat)."""

    def settle(self, job_ids: Sequence[str]) -> None:
        """The jobs' outcomes are stored: the queue may forget them."""

    def ping(self) -> None:
        """Raise unless the queue answers (readiness): the store, or the broker."""

    def close(self) -> None: ...
