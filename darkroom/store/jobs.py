"""Job state in SQL: the job store, made of its reads, its writes and the worker
registry (job_reads.py, job_writes.py, worker_registry.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, case, func, select

from darkroom.jobs.status import JobStatus
from darkroom.store.database import reader_of
from darkroom.store.job_statements import (
    CLAIM,
    CLAIM_NAMED,
    CLAIM_NAMED_ONE_AT_A_TIME,
    CLAIM_ONE_AT_A_TIME,
)
from darkroom.store.job_writes import JobWrites
from darkroom.store.tables import jobs
from darkroom.store.worker_registry import WorkerRegistry


@dataclass(frozen=True)
class Stats:
    jobs: dict[str, int]
    queue_depth: int
    oldest_queued_age_s: float | None
    succeeded_last_minute: int
    workers_alive: int


class JobStore(JobWrites, WorkerRegistry):
    """``sequential``: claims take a job only while no other is processing, so that one
    job runs at a time across every worker (DARKROOM_SEQUENTIAL)."""

    def __init__(self, engine: Engine, *, sequential: bool = False) -> None:
        self.engine = engine
        self.reader = reader_of(engine)
        self.sequential = sequential
        self.claim_statement = CLAIM_ONE_AT_A_TIME if sequential else CLAIM
        self.claim_named_statement = CLAIM_NAMED_ONE_AT_A_TIME if sequential else CLAIM_NAMED

    def stats(self, *, worker_window_s: float) -> Stats:
        """Counts per status, the oldest queued job and last minute's successes, in one scan."""
        now = time.time()
        finished_last_minute = func.sum(case((jobs.c.finished_at >= now - 60, 1), else_=0))
        per_status = {s.value: 0 for s in JobStatus}
        oldest_queued: float | None = None
        succeeded_last_minute = 0
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(
                    jobs.c.status, func.count(), func.min(jobs.c.created_at), finished_last_minute
                ).group_by(jobs.c.status)
            ).all()
        for status, count, oldest, recent in rows:
            per_status[status] = int(count)
            if status == JobStatus.QUEUED.value:
                oldest_queued = oldest
            elif status == JobStatus.SUCCEEDED.value:
                succeeded_last_minute = int(recent or 0)
        return Stats(
            jobs=per_status,
            queue_depth=per_status[JobStatus.QUEUED.value],
            oldest_queued_age_s=(now - oldest_queued) if oldest_queued is not None else None,
            succeeded_last_minute=succeeded_last_minute,
            workers_alive=self.workers_alive(worker_window_s),
        )

    def ping(self) -> None:
        with self.reader.connect() as conn:
            conn.execute(select(1))
