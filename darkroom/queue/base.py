"""What workers and the API need from a job queue. Job state always lives in the store;
a queue decides which job a worker takes next and how an idle worker learns of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from darkroom.jobs.model import Job
from darkroom.queue.doorbell import Doorbell


class JobQueue(Protocol):
    def announce(self, job_id: str) -> None:
        """A job was queued (its row committed): make it known to workers."""

    def take(self, worker_id: str, *, lease_s: float) -> Job | None:
        """The next job for this worker, claimed in the store under its lease; or None."""

    def wait(self, timeout_s: float, doorbells: Sequence[Doorbell] = ()) -> bool:
        """Block up to ``timeout_s`` for work to appear (or one of ``doorbells`` to ring);
        True when woken early."""

    def renew(self, job_ids: Sequence[str]) -> None:
        """The jobs are still running here (called with each heartbeat)."""

    def settle(self, job_id: str) -> None:
        """The job's outcome is stored: the queue may forget it."""

    def close(self) -> None: ...
