"""Reading and changing job rows. Every state change is one short transaction."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Engine,
    Float,
    Integer,
    RowMapping,
    Select,
    String,
    Update,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from darkroom.jobs.delivery import EVENT_FAILED, EVENT_SUCCEEDED
from darkroom.jobs.model import Job, JobFilter, JobPage
from darkroom.jobs.status import JobStatus
from darkroom.store.database import reader_of
from darkroom.store.effects import schedule_effects
from darkroom.store.listen import NOTIFY_JOBS
from darkroom.store.tables import job_effects, job_labels, jobs, webhook_deliveries, workers
from darkroom.store.webhooks import schedule_deliveries

_JOB_FIELDS = [c.name for c in jobs.columns if c.name != "source_sha256"]


def _row_to_job(row: RowMapping) -> Job:
    values = {name: row[name] for name in _JOB_FIELDS}
    values["status"] = JobStatus(values["status"])
    values["artifacts_deleted"] = bool(values["artifacts_deleted"])
    values["effects"] = values["effects"] or []
    return Job(**values)


def _job_to_row(job: Job) -> dict[str, Any]:
    row = {name: getattr(job, name) for name in _JOB_FIELDS}
    row["status"] = job.status.value
    row["effects"] = job.effects or None
    row["source_sha256"] = _first_sha256(job.source_facts or [])
    return row


def _insert_rows(new_jobs: Sequence[Job]) -> list[dict[str, Any]]:
    """The jobs as rows, leaving out the columns that are empty in every one of them: a
    new job has no lease, outputs or error yet, and each value sent costs time."""
    rows = [_job_to_row(job) for job in new_jobs]
    used = {name for row in rows for name, value in row.items() if value is not None}
    return [{name: row[name] for name in used} for row in rows]


def _runnable(now: Any) -> Any:
    """Queued and due, or processing under a lease that has run out (its worker is gone)."""
    return or_(
        and_(jobs.c.status == JobStatus.QUEUED.value, jobs.c.available_at <= now),
        and_(
            jobs.c.status == JobStatus.PROCESSING.value,
            jobs.c.lease_expires_at < now,
            jobs.c.attempts < jobs.c.max_attempts,
        ),
    )


def _take(which: Any, now: Any) -> Update:
    """Move the jobs ``which`` selects to processing under this worker's lease."""
    return (
        update(jobs)
        .where(which)
        .values(
            status=JobStatus.PROCESSING.value,
            lease_owner=bindparam("worker", type_=String),
            lease_expires_at=bindparam("until", type_=Float),
            attempts=jobs.c.attempts + 1,
            started_at=func.coalesce(jobs.c.started_at, now),
            updated_at=now,
        )
        .returning(*jobs.c)
    )


def _none_running(now: Any) -> Any:
    """No job is processing under a live lease (for strictly sequential processing)."""
    running = jobs.alias("running")
    return ~(
        select(running.c.id)
        .where(
            running.c.status == JobStatus.PROCESSING.value,
            running.c.lease_expires_at >= now,
        )
        .exists()
    )


def _build_claim(sequential: bool = False) -> Update:
    """The claim statement, built once: its values are bound per call."""
    now = bindparam("now", type_=Float)
    runnable = and_(_runnable(now), _none_running(now)) if sequential else _runnable(now)
    oldest_runnable = (
        select(jobs.c.id)
        .where(runnable)
        .order_by(jobs.c.available_at, jobs.c.created_at)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return _take(jobs.c.id.in_(oldest_runnable), now)


def _build_claim_named(sequential: bool = False) -> Update:
    now = bindparam("now", type_=Float)
    named = jobs.c.id.in_(bindparam("job_ids", expanding=True))
    runnable = and_(_runnable(now), _none_running(now)) if sequential else _runnable(now)
    return _take(and_(named, runnable), now)


def _finished(now: Any) -> dict[str, Any]:
    """What every finishing job's row gets: when it finished, and when it expires if it has
    a retention (null + a number is null)."""
    return {"finished_at": now, "expires_at": jobs.c.retention_s + now}


def _succeeded(now: Any) -> dict[str, Any]:
    """What a succeeding job's row becomes, besides its outputs (and facts)."""
    return {
        "status": JobStatus.SUCCEEDED.value,
        "progress": 100,
        **_finished(now),
        "updated_at": now,
        "lease_owner": null(),
        "lease_expires_at": null(),
        "error_code": null(),
        "error_message": null(),
    }


def _build_succeed() -> Update:
    return (
        update(jobs)
        .where(
            jobs.c.id == bindparam("job_id", type_=String),
            jobs.c.status == JobStatus.PROCESSING.value,
            jobs.c.lease_owner == bindparam("worker", type_=String),
        )
        .values(
            outputs=bindparam("job_outputs", type_=jobs.c.outputs.type),
            **_succeeded(bindparam("now", type_=Float)),
        )
    )


_CLAIM = _build_claim()
_CLAIM_NAMED = _build_claim_named()
_CLAIM_ONE_AT_A_TIME = _build_claim(sequential=True)
_CLAIM_NAMED_ONE_AT_A_TIME = _build_claim_named(sequential=True)
# Claims of a sequential store take this lock first (PostgreSQL), so that two claimers
# cannot both see no job running; SQLite's writers are serialised anyway.
_SEQUENTIAL_LOCK = text("SELECT pg_advisory_xact_lock(4242001)")
_SUCCEED = _build_succeed()

_JOBS_AHEAD = (
    select(func.count())
    .select_from(jobs)
    .where(
        jobs.c.status == JobStatus.QUEUED.value,
        or_(
            jobs.c.available_at < bindparam("available", type_=Float),
            and_(
                jobs.c.available_at == bindparam("available", type_=Float),
                jobs.c.created_at < bindparam("created", type_=Float),
            ),
        ),
    )
)


def _filtered(query: Select[Any], filters: JobFilter) -> Select[Any]:
    """``query`` narrowed to the jobs ``filters`` select, expired ones left out."""
    query = query.where(jobs.c.expired_at.is_(None))
    if filters.status is not None:
        query = query.where(jobs.c.status == filters.status.value)
    if filters.created_after is not None:
        query = query.where(jobs.c.created_at > filters.created_after)
    if filters.created_before is not None:
        query = query.where(jobs.c.created_at < filters.created_before)
    for key, value in filters.labels.items():
        query = query.where(
            jobs.c.id.in_(
                select(job_labels.c.job_id).where(
                    and_(job_labels.c.key == key, job_labels.c.value == value)
                )
            )
        )
    return query


def _first_sha256(facts: list[dict[str, Any]]) -> str | None:
    """The first source's digest, kept in its own indexed column for look-ups by hash."""
    return facts[0].get("sha256") if facts else None


def _facts_values(facts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"source_facts": facts, "source_sha256": _first_sha256(facts)}


def _schedule_failed(conn: Connection, rows: Sequence[RowMapping]) -> None:
    """Webhook deliveries and effects for the rows (full job rows) that just failed for
    good."""
    failed = [row for row in rows if row["status"] == JobStatus.FAILED.value]
    schedule_deliveries(
        conn,
        [(row["id"], row["webhook_url"], EVENT_FAILED) for row in failed if row["webhook_url"]],
    )
    schedule_effects(conn, [(row["id"], row["effects"], JobStatus.FAILED.value) for row in failed])


def _schedule_succeeded(conn: Connection, rows: Sequence[Any]) -> None:
    """Webhook deliveries and effects for jobs that just succeeded: (id, webhook URL,
    effects) rows."""
    schedule_deliveries(conn, [(r[0], r[1], EVENT_SUCCEEDED) for r in rows if r[1]])
    schedule_effects(conn, [(r[0], r[2], JobStatus.SUCCEEDED.value) for r in rows])


def _wake_workers(conn: Connection) -> None:
    """Wake listening workers when this transaction commits (PostgreSQL); SQLite's poll."""
    if conn.dialect.name == "postgresql":
        conn.execute(NOTIFY_JOBS)


def encode_cursor(created_at: float, job_id: str) -> str:
    raw = json.dumps([created_at, job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    padded = cursor + "=" * (-len(cursor) % 4)
    created_at, job_id = json.loads(base64.urlsafe_b64decode(padded))
    return float(created_at), str(job_id)


@dataclass(frozen=True)
class Stats:
    jobs: dict[str, int]
    queue_depth: int
    oldest_queued_age_s: float | None
    succeeded_last_minute: int
    workers_alive: int


class JobStore:
    """``sequential``: claims take a job only while no other is processing, so that one
    job runs at a time across every worker (DARKROOM_SEQUENTIAL)."""

    def __init__(self, engine: Engine, *, sequential: bool = False) -> None:
        self.engine = engine
        self.reader = reader_of(engine)
        self.sequential = sequential
        self._claim = _CLAIM_ONE_AT_A_TIME if sequential else _CLAIM
        self._claim_named = _CLAIM_NAMED_ONE_AT_A_TIME if sequential else _CLAIM_NAMED

    # -- creation and lookup -------------------------------------------------------------

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
            conn.execute(insert(jobs), _insert_rows(new_jobs))
            if labels:
                conn.execute(insert(job_labels), labels)
            _wake_workers(conn)

    def insert(self, job: Job) -> Job:
        """Insert ``job``; with an idempotency key already used, return the stored job."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(jobs), _insert_rows([job])[0])
                if job.labels:
                    conn.execute(
                        insert(job_labels),
                        [{"job_id": job.id, "key": k, "value": v} for k, v in job.labels.items()],
                    )
                _wake_workers(conn)
            return job
        except IntegrityError:
            if job.idempotency_key is None:
                raise
            existing = self.get_by_idempotency_key(job.idempotency_key)
            if existing is None:
                raise
            return existing

    def get(self, job_id: str) -> Job | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _row_to_job(row) if row else None

    def get_by_idempotency_key(self, key: str) -> Job | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.idempotency_key == key)).mappings().first()
        return _row_to_job(row) if row else None

    def list_jobs(self, filters: JobFilter, *, limit: int, cursor: str | None) -> JobPage:
        query = _filtered(select(jobs), filters)
        if cursor:
            after_created, after_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    jobs.c.created_at < after_created,
                    and_(jobs.c.created_at == after_created, jobs.c.id < after_id),
                )
            )
        query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit + 1)
        with self.reader.connect() as conn:
            found = [_row_to_job(r) for r in conn.execute(query).mappings()]
        next_cursor = None
        if len(found) > limit:
            found = found[:limit]
            next_cursor = encode_cursor(found[-1].created_at, found[-1].id)
        return JobPage(jobs=found, next_cursor=next_cursor)

    def list_offset(self, filters: JobFilter, *, limit: int, offset: int) -> tuple[list[Job], int]:
        """A page of jobs, newest first, by offset; and how many match in all."""
        query = _filtered(select(jobs), filters)
        query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        counting = _filtered(select(func.count()).select_from(jobs), filters)
        with self.reader.connect() as conn:
            total = int(conn.execute(counting).scalar_one())
            rows = conn.execute(query.limit(limit).offset(offset)).mappings()
            return [_row_to_job(r) for r in rows], total

    def status_counts(self, labels: dict[str, str]) -> dict[JobStatus, int]:
        """Jobs with these labels (not expired), per status; every status is present."""
        query = _filtered(
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
            ahead = conn.execute(_JOBS_AHEAD, params).scalar_one()
        return int(ahead) + 1

    # -- client-driven changes -------------------------------------------------------------

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
                _wake_workers(conn)
        return _row_to_job(row) if row else None

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
                        **_finished(now),
                        updated_at=now,
                        lease_owner=None,
                        lease_expires_at=None,
                    )
                    .returning(*jobs.c)
                )
                .mappings()
                .first()
            )
            if row is not None:
                schedule_effects(conn, [(job_id, row["effects"], JobStatus.CANCELED.value)])
        return _row_to_job(row) if row else None

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

    # -- worker-driven changes -------------------------------------------------------------

    def claim(self, worker_id: str, *, limit: int, lease_s: float) -> list[Job]:
        """Take up to ``limit`` runnable jobs: queued and due, or processing with a dead lease.

        Rows are locked with SKIP LOCKED where the database has it, so concurrent claimers
        never take the same job; SQLite serialises writers instead.
        """
        now = time.time()
        if self.sequential:
            limit = 1
        params = {"now": now, "limit": limit, "worker": worker_id, "until": now + lease_s}
        with self.engine.begin() as conn:
            self._serialise_claims(conn)
            rows = conn.execute(self._claim, params).mappings().all()
        claimed = [_row_to_job(r) for r in rows]
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
            rows = conn.execute(self._claim_named, params).mappings().all()
        return [_row_to_job(row) for row in rows]

    def _serialise_claims(self, conn: Connection) -> None:
        if self.sequential and conn.dialect.name == "postgresql":
            conn.execute(_SEQUENTIAL_LOCK)

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
                        error_code="worker_lost",
                        error_message="the worker running this job stopped answering "
                        "on every attempt",
                        updated_at=now,
                        **_finished(now),
                        lease_owner=None,
                        lease_expires_at=None,
                    )
                    .returning(*jobs.c)
                )
                .mappings()
                .all()
            )
            _schedule_failed(conn, rows)
        return [_row_to_job(r) for r in rows]

    def owned_by(self, worker_id: str) -> list[Job]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.lease_owner == worker_id)).mappings()
            return [_row_to_job(r) for r in rows]

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
        facts: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Record progress, and the source facts learnt so far when given."""
        values: dict[str, Any] = {"progress": progress, "updated_at": time.time()}
        if facts is not None:
            values.update(_facts_values(facts))
        with self.engine.begin() as conn:
            result = conn.execute(
                update(jobs).where(*self._owned(job_id, worker_id)).values(**values)
            )
        return result.rowcount == 1

    def succeed_many(self, worker_id: str, outputs: Mapping[str, list[dict[str, Any]]]) -> int:
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
            result = conn.execute(_SUCCEED, params)
            _schedule_succeeded(conn, followed)
        return int(result.rowcount)

    def succeed(
        self,
        job_id: str,
        worker_id: str,
        outputs: list[dict[str, Any]],
        facts: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Record the outputs; False when this worker no longer owns the job."""
        now = time.time()
        with self.engine.begin() as conn:
            row = conn.execute(
                update(jobs)
                .where(*self._owned(job_id, worker_id))
                .values(
                    outputs=outputs,
                    **(_facts_values(facts) if facts is not None else {}),
                    **_succeeded(now),
                )
                .returning(jobs.c.id, jobs.c.webhook_url, jobs.c.effects)
            ).first()
            if row is not None:
                _schedule_succeeded(conn, [row])
        return row is not None

    def fail(
        self,
        job_id: str,
        worker_id: str,
        *,
        code: str,
        message: str,
        retry_at: float | None,
        facts: list[dict[str, Any]] | None = None,
    ) -> Job | None:
        """Record a failed attempt: back to the queue at ``retry_at``, or failed for good."""
        now = time.time()
        values: dict[str, Any] = {
            "error_code": code,
            "error_message": message,
            "updated_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
        }
        if facts:
            values.update(_facts_values(facts))
        if retry_at is None:
            values.update(status=JobStatus.FAILED.value, **_finished(now))
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
                _schedule_failed(conn, [row])
        return _row_to_job(row) if row else None

    # -- retention ---------------------------------------------------------------------

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

    # -- workers and figures ---------------------------------------------------------------

    def register_worker(self, worker_id: str, hostname: str, pid: int) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                insert(workers).values(
                    id=worker_id, hostname=hostname, pid=pid, started_at=now, last_seen=now
                )
            )

    def unregister_worker(self, worker_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(workers).where(workers.c.id == worker_id))

    def workers_alive(self, within_s: float) -> int:
        cutoff = time.time() - within_s
        with self.reader.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(workers).where(workers.c.last_seen >= cutoff)
                ).scalar_one()
            )

    def prune_workers(self, older_than_s: float) -> None:
        cutoff = time.time() - older_than_s
        with self.engine.begin() as conn:
            conn.execute(delete(workers).where(workers.c.last_seen < cutoff))

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
