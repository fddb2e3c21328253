"""Changing job rows: inserts, client-driven changes, the workers' claims, leases and
outcomes (each with its webhook delivery and effects), and retention. Every state
change is one short transaction."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Engine,
    Update,
    delete,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from darkroom.jobs.failures import FailureCode
from darkroom.jobs.model import Job
from darkroom.jobs.records import OutputRecord, SourceFactsRecord
from darkroom.jobs.status import JobStatus
from darkroom.store.effects import schedule_effects
from darkroom.store.job_ends import announce_ended
from darkroom.store.job_reads import JobReads
from darkroom.store.job_statements import (
    SEQUENTIAL_LOCK,
    SUCCEED,
    SUCCEED_ONE,
    SUCCEED_ONE_WITH_FACTS,
    facts_values,
    finished,
    first_sha256,
    insert_rows,
    queued_count,
    released,
    row_to_job,
    schedule_failed,
    schedule_succeeded,
    wake_workers,
)
from darkroom.store.tables import (
    api_keys,
    job_effects,
    job_labels,
    jobs,
    webhook_deliveries,
    workers,
)


class QuotaReached(Exception):
    """The job's owner has as many jobs queued as its quota allows; nothing was inserted."""


class JobWrites(JobReads):
    """The store's writes."""

    engine: Engine
    sequential: bool
    claim_statement: Update
    claim_named_statement: Update

    def insert_many(self, new_jobs: Sequence[Job]) -> None:
        """Insert many new jobs (no idempotency keys) in one transaction."""
        if any(job.idempotency_key is not None for job in new_jobs):
            raise ValueError("insert_many takes jobs without idempotency keys")
        labels = [
            {"job_id": job.id, "key": k, "value": v}
            for job in new_jobs
            for k, v in job.labels.items()
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(jobs), insert_rows(new_jobs))
            if labels:
                conn.execute(insert(job_labels), labels)
            wake_workers(conn)

    def insert(self, job: Job, max_queued: int | None = None) -> Job:
        """Insert ``job``; with an idempotency key already used, return the stored job.
        With ``max_queued``, QuotaReached when the job's owner has that many jobs queued:
        counted in the insert's transaction, with the owner's key row locked (SQLite's
        writers take turns anyway), so that submissions at once cannot pass it."""
        try:
            with self.engine.begin() as conn:
                if max_queued is not None and job.owner is not None:
                    _check_quota(conn, job.owner, max_queued)
                conn.execute(insert(jobs), insert_rows([job])[0])
                if job.labels:
                    conn.execute(
                        insert(job_labels),
                        [{"job_id": job.id, "key": k, "value": v} for k, v in job.labels.items()],
                    )
                wake_workers(conn)
            return job
        except IntegrityError:
            if job.idempotency_key is None:
                raise
            existing = self.get_by_idempotency_key(job.idempotency_key)
            if existing is None:
                raise
            return existing

    def _update_returning(
        self, job_id: str, where: Iterable[Any], values: dict[str, Any]
    ) -> Job | None:
        values = {**values, "updated_at": time.time()}
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, *where)
                    .values(**values)
                    .returning(*jobs.c)
                )
                .mappings()
                .first()
            )
            if row is not None and values.get("status") == JobStatus.QUEUED.value:
                wake_workers(conn)
        return row_to_job(row) if row else None

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a job that has not finished; None when it had already finished. Its
        effects are scheduled with the cancellation (no webhook is sent for it)."""
        now = time.time()
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    update(jobs)
                    .where(
                        jobs.c.id == job_id,
                        jobs.c.status.in_([JobStatus.QUEUED.value, JobStatus.PROCESSING.value]),
                    )
                    .values(
                        status=JobStatus.CANCELED.value,
                        **finished(now),
                        **released(now),
                    )
                    .returning(*jobs.c)
                )
                .mappings()
                .first()
            )
            if row is not None:
                schedule_effects(conn, [(job_id, row["effects"], JobStatus.CANCELED.value)])
                announce_ended(conn, [job_id])
        return row_to_job(row) if row else None

    def mark_artifacts_deleted(self, job_id: str) -> Job | None:
        return self._update_returning(job_id, [], {"artifacts_deleted": True})

    def requeue_failed(self, job_id: str) -> Job | None:
        now = time.time()
        return self._update_returning(
            job_id,
            [jobs.c.status == JobStatus.FAILED.value, jobs.c.artifacts_deleted.is_(False)],
            {
                "status": JobStatus.QUEUED.value,
                "available_at": now,
                "attempts": 0,
                "progress": 0,
                "error_code": None,
                "error_message": None,
                "finished_at": None,
                "started_at": None,
                "expires_at": None,
            },
        )

    def claim(self, worker_id: str, *, limit: int, lease_s: float) -> list[Job]:
        """Take up to ``limit`` runnable jobs: queued and due, or processing with a dead lease.

        Rows are locked with SKIP LOCKED where the database has it, so concurrent claimers
        never take the same job; SQLite serialises writers instead.
        """
        with self.engine.begin() as conn:
            return self._claim_in(conn, worker_id, limit, lease_s)

    def _claim_in(self, conn: Connection, worker_id: str, limit: int, lease_s: float) -> list[Job]:
        now = time.time()
        if self.sequential:
            limit = 1
        params = {"now": now, "limit": limit, "worker": worker_id, "until": now + lease_s}
        self._serialise_claims(conn)
        rows = conn.execute(self.claim_statement, params).mappings().all()
        claimed = [row_to_job(r) for r in rows]
        claimed.sort(key=lambda j: (j.available_at, j.created_at))
        return claimed

    def claim_named(self, job_ids: Sequence[str], worker_id: str, *, lease_s: float) -> list[Job]:
        """Take those of these jobs (a broker named them) that are runnable; the others are
        finished, canceled, not yet due, or running under another worker's live lease."""
        if not job_ids:
            return []
        now = time.time()
        if self.sequential:
            job_ids = list(job_ids)[:1]
        params = {"now": now, "job_ids": list(job_ids), "worker": worker_id, "until": now + lease_s}
        with self.engine.begin() as conn:
            self._serialise_claims(conn)
            rows = conn.execute(self.claim_named_statement, params).mappings().all()
        return [row_to_job(row) for row in rows]

    def _serialise_claims(self, conn: Connection) -> None:
        if self.sequential and conn.dialect.name == "postgresql":
            conn.execute(SEQUENTIAL_LOCK)

    def fail_lost(self) -> list[Job]:
        """Fail jobs whose lease expired with no attempts left (their workers kept dying)."""
        now = time.time()
        with self.engine.begin() as conn:
            rows = (
                conn.execute(
                    update(jobs)
                    .where(
                        jobs.c.status == JobStatus.PROCESSING.value,
                        jobs.c.lease_expires_at < now,
                        jobs.c.attempts >= jobs.c.max_attempts,
                    )
                    .values(
                        status=JobStatus.FAILED.value,
                        error_code=FailureCode.WORKER_LOST.value,
                        error_message="the worker running this job stopped answering "
                        "on every attempt",
                        **finished(now),
                        **released(now),
                    )
                    .returning(*jobs.c)
                )
                .mappings()
                .all()
            )
            schedule_failed(conn, rows)
            announce_ended(conn, [row["id"] for row in rows])
        return [row_to_job(r) for r in rows]

    def _owned(self, job_id: str, worker_id: str) -> list[Any]:
        return [
            jobs.c.id == job_id,
            jobs.c.status == JobStatus.PROCESSING.value,
            jobs.c.lease_owner == worker_id,
        ]

    def renew_leases(self, worker_id: str, job_ids: list[str], lease_s: float) -> set[str]:
        """Extend the leases this worker still holds; return the ids it still owns."""
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(update(workers).where(workers.c.id == worker_id).values(last_seen=now))
            if not job_ids:
                return set()
            rows = conn.execute(
                update(jobs)
                .where(
                    jobs.c.id.in_(job_ids),
                    jobs.c.status == JobStatus.PROCESSING.value,
                    jobs.c.lease_owner == worker_id,
                )
                .values(lease_expires_at=now + lease_s)
                .returning(jobs.c.id)
            ).all()
        return {r[0] for r in rows}

    def record_progress(
        self,
        job_id: str,
        worker_id: str,
        progress: int,
        facts: list[SourceFactsRecord] | None = None,
    ) -> bool:
        """Record progress, and the source facts learnt so far when given."""
        values: dict[str, Any] = {"progress": progress, "updated_at": time.time()}
        if facts is not None:
            values.update(facts_values(facts))
        with self.engine.begin() as conn:
            result = conn.execute(
                update(jobs).where(*self._owned(job_id, worker_id)).values(**values)
            )
        return result.rowcount == 1

    def succeed_many(self, worker_id: str, outputs: Mapping[str, list[OutputRecord]]) -> int:
        """Record many jobs' outputs (job id → output records) in one transaction, as a
        worker that buffers its results does; returns how many this worker still owned."""
        if not outputs:
            return 0
        now = time.time()
        params = [
            {"job_id": job_id, "worker": worker_id, "job_outputs": records, "now": now}
            for job_id, records in outputs.items()
        ]
        with self.engine.begin() as conn:
            followed = conn.execute(
                select(jobs.c.id, jobs.c.webhook_url, jobs.c.effects).where(
                    jobs.c.id.in_(list(outputs)),
                    or_(jobs.c.webhook_url.is_not(None), jobs.c.effects.is_not(None)),
                    jobs.c.status == JobStatus.PROCESSING.value,
                    jobs.c.lease_owner == worker_id,
                )
            ).all()
            result = conn.execute(SUCCEED, params)
            schedule_succeeded(conn, followed)
            announce_ended(conn, list(outputs))  # those no longer owned stay as they were
        return int(result.rowcount)

    def succeed(
        self,
        job_id: str,
        worker_id: str,
        outputs: list[OutputRecord],
        facts: list[SourceFactsRecord] | None = None,
    ) -> bool:
        """Record the outputs; False when this worker no longer owns the job."""
        with self.engine.begin() as conn:
            return self._succeed_in(conn, job_id, worker_id, outputs, facts)

    def succeed_and_claim(
        self,
        job_id: str,
        worker_id: str,
        outputs: list[OutputRecord],
        facts: list[SourceFactsRecord] | None = None,
        *,
        limit: int = 1,
        lease_s: float,
    ) -> tuple[bool, list[Job]]:
        """``succeed``, then ``claim`` this worker's next jobs, in one transaction: a worker
        that is busy pays for one write transaction a job instead of two. The claim commits
        with the outcome; should it fail, the outcome is not stored either."""
        with self.engine.begin() as conn:
            done = self._succeed_in(conn, job_id, worker_id, outputs, facts)
            return done, self._claim_in(conn, worker_id, limit, lease_s)

    def _succeed_in(
        self,
        conn: Connection,
        job_id: str,
        worker_id: str,
        outputs: list[OutputRecord],
        facts: list[SourceFactsRecord] | None,
    ) -> bool:
        params: dict[str, Any] = {
            "job_id": job_id,
            "worker": worker_id,
            "job_outputs": outputs,
            "now": time.time(),
        }
        statement = SUCCEED_ONE
        if facts is not None:
            statement = SUCCEED_ONE_WITH_FACTS
            params.update(facts=facts, sha256=first_sha256(facts))
        row = conn.execute(statement, params).first()
        if row is not None:
            schedule_succeeded(conn, [row])
            announce_ended(conn, [job_id])
        return row is not None

    def fail(
        self,
        job_id: str,
        worker_id: str,
        *,
        code: str,
        message: str,
        retry_at: float | None,
        facts: list[SourceFactsRecord] | None = None,
        counted: bool = True,
    ) -> Job | None:
        """Record a failed attempt: back to the queue at ``retry_at``, or failed for good.
        ``counted=False`` gives the attempt back (it does not count towards max_attempts)."""
        now = time.time()
        values: dict[str, Any] = {
            "error_code": code,
            "error_message": message,
            **released(now),
        }
        if not counted:
            values["attempts"] = jobs.c.attempts - 1
        if facts:
            values.update(facts_values(facts))
        if retry_at is None:
            values.update(status=JobStatus.FAILED.value, **finished(now))
        else:
            values.update(status=JobStatus.QUEUED.value, available_at=retry_at, progress=0)
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    update(jobs)
                    .where(*self._owned(job_id, worker_id))
                    .values(**values)
                    .returning(*jobs.c)
                )
                .mappings()
                .first()
            )
            if row is not None:
                schedule_failed(conn, [row])
                if retry_at is None:
                    announce_ended(conn, [job_id])
        return row_to_job(row) if row else None

    def expire(self, job_id: str) -> bool:
        """Reduce an expired job (its artifacts already deleted) to a tombstone: id, status
        and times stay, so the API can answer ``expired``; everything the client sent or
        the worker learnt is erased. False when it was not due (or already expired)."""
        now = time.time()
        with self.engine.begin() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.expires_at < now, jobs.c.expired_at.is_(None))
                .values(
                    expired_at=now,
                    updated_at=now,
                    artifacts_deleted=True,
                    spec={},
                    sources=[],
                    source_facts=null(),
                    source_sha256=null(),
                    outputs=null(),
                    labels={},
                    error_message=null(),
                    webhook_url=null(),
                    idempotency_key=null(),
                    effects=null(),
                )
            )
            if result.rowcount != 1:
                return False
            conn.execute(delete(job_labels).where(job_labels.c.job_id == job_id))
            conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.job_id == job_id))
            conn.execute(delete(job_effects).where(job_effects.c.job_id == job_id))
        return True


def _check_quota(conn: Connection, owner: str, max_queued: int) -> None:
    conn.execute(select(api_keys.c.id).where(api_keys.c.id == owner).with_for_update())
    if int(conn.execute(queued_count(owner)).scalar() or 0) >= max_queued:
        raise QuotaReached(owner)
