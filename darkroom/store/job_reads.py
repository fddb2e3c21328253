"""Reading job rows: one job, pages of them, counts and positions."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    Engine,
    RowMapping,
    Select,
    and_,
    func,
    or_,
    select,
)

from darkroom.jobs.model import Job, JobFilter, JobPage
from darkroom.jobs.status import JobStatus
from darkroom.store.job_statements import (
    JOB_STATES_BY_ID,
    JOBS_AHEAD,
    JOBS_BY_ID,
    JOBS_BY_ID_BATCH,
    filtered,
    row_to_job,
)
from darkroom.store.tables import jobs, workers


class JobState(NamedTuple):
    """What an event stream reports of a job, read without the rest of its row."""

    status: JobStatus
    progress: int
    attempts: int
    expired: bool

    @classmethod
    def of(cls, job: Job) -> JobState:
        return cls(job.status, job.progress, job.attempts, job.expired_at is not None)


class JobReads:
    """The store's reads; transactions that only read begin deferred (SQLite)."""

    reader: Engine

    def get(self, job_id: str) -> Job | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return row_to_job(row) if row else None

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]:
        """The jobs of ``job_ids`` that exist (expired ones included), by id: one query
        per JOBS_BY_ID_BATCH ids."""
        return {row["id"]: row_to_job(row) for row in self._by_id(JOBS_BY_ID, job_ids)}

    def job_states(self, job_ids: Sequence[str]) -> dict[str, JobState]:
        """The state of the jobs of ``job_ids`` that exist, by id; a few columns only,
        one query per JOBS_BY_ID_BATCH ids."""
        return {
            row["id"]: JobState(
                JobStatus(row["status"]),
                row["progress"],
                row["attempts"],
                row["expired_at"] is not None,
            )
            for row in self._by_id(JOB_STATES_BY_ID, job_ids)
        }

    def _by_id(self, statement: Select[Any], job_ids: Sequence[str]) -> Iterator[RowMapping]:
        ids = list(dict.fromkeys(job_ids))
        with self.reader.connect() as conn:
            for first in range(0, len(ids), JOBS_BY_ID_BATCH):
                batch = ids[first : first + JOBS_BY_ID_BATCH]
                yield from conn.execute(statement, {"ids": batch}).mappings()

    def get_by_idempotency_key(self, key: str) -> Job | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.idempotency_key == key)).mappings().first()
        return row_to_job(row) if row else None

    def list_jobs(
        self, filters: JobFilter, *, limit: int, after: tuple[float, str] | None = None
    ) -> JobPage:
        """Newest first; ``after``: the (created_at, id) of the last job of the page before."""
        query = filtered(select(jobs), filters)
        if after is not None:
            after_created, after_id = after
            query = query.where(
                or_(
                    jobs.c.created_at < after_created,
                    and_(jobs.c.created_at == after_created, jobs.c.id < after_id),
                )
            )
        query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit + 1)
        with self.reader.connect() as conn:
            found = [row_to_job(r) for r in conn.execute(query).mappings()]
        return JobPage(jobs=found[:limit], more=len(found) > limit)

    def list_offset(self, filters: JobFilter, *, limit: int, offset: int) -> tuple[list[Job], int]:
        """A page of jobs, newest first, by offset; and how many match in all."""
        query = filtered(select(jobs), filters)
        query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        counting = filtered(select(func.count()).select_from(jobs), filters)
        with self.reader.connect() as conn:
            total = int(conn.execute(counting).scalar_one())
            rows = conn.execute(query.limit(limit).offset(offset)).mappings()
            return [row_to_job(r) for r in rows], total

    def status_counts(self, labels: dict[str, str]) -> dict[JobStatus, int]:
        """Jobs with these labels (not expired), per status; every status is present."""
        query = filtered(
            select(jobs.c.status, func.count()).select_from(jobs), JobFilter(labels=labels)
        ).group_by(jobs.c.status)
        counts = dict.fromkeys(JobStatus, 0)
        with self.reader.connect() as conn:
            for status, count in conn.execute(query).all():
                counts[JobStatus(status)] = int(count)
        return counts

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to run; None when the job is not waiting."""
        if job.status is not JobStatus.QUEUED:
            return None
        params = {"available": job.available_at, "created": job.created_at}
        with self.reader.connect() as conn:
            ahead = conn.execute(JOBS_AHEAD, params).scalar_one()
        return int(ahead) + 1

    def activity(self, since: float) -> list[tuple[float, float | None, float | None]]:
        """(created_at, started_at, finished_at) of each job created or finished since
        ``since``, or not finished yet: what the dashboard's charts are drawn from."""
        query = select(jobs.c.created_at, jobs.c.started_at, jobs.c.finished_at).where(
            or_(
                jobs.c.created_at >= since,
                jobs.c.finished_at >= since,
                jobs.c.finished_at.is_(None),
            )
        )
        with self.reader.connect() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(query).all()]

    def workers_seen(self, within_s: float) -> list[dict[str, Any]]:
        """The workers table's rows (id, hostname, pid, started_at, last_seen) of the
        workers heard from within ``within_s`` seconds, oldest first."""
        cutoff = time.time() - within_s
        query = select(workers).where(workers.c.last_seen >= cutoff).order_by(workers.c.started_at)
        with self.reader.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def owned_by(self, worker_id: str) -> list[Job]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.lease_owner == worker_id)).mappings()
            return [row_to_job(r) for r in rows]

    def due_to_expire(self, *, limit: int) -> list[str]:
        """Ids of finished jobs whose retention has run out and that are not yet expired."""
        now = time.time()
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(jobs.c.id)
                .where(jobs.c.expires_at < now, jobs.c.expired_at.is_(None))
                .order_by(jobs.c.expires_at)
                .limit(limit)
            ).all()
        return [r[0] for r in rows]
