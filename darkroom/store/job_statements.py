"""The job rows' statements and conversions, built once and bound per call: what the
store's reads and writes (job_reads.py, job_writes.py) execute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    RowMapping,
    Select,
    String,
    Update,
    and_,
    bindparam,
    func,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from darkroom.jobs.delivery import EVENT_FAILED, EVENT_SUCCEEDED
from darkroom.jobs.model import Job, JobFilter
from darkroom.jobs.records import SourceFactsRecord
from darkroom.jobs.status import JobStatus
from darkroom.store.effects import schedule_effects
from darkroom.store.listen import NOTIFY_JOBS
from darkroom.store.tables import job_labels, jobs
from darkroom.store.webhooks import schedule_deliveries

JOB_FIELDS = [c.name for c in jobs.columns if c.name != "source_sha256"]


def row_to_job(row: RowMapping) -> Job:
    """The job a row holds; its JSON columns are the records of jobs/records.py, read back
    as they were written."""
    values = {name: row[name] for name in JOB_FIELDS}
    values["status"] = JobStatus(values["status"])
    values["artifacts_deleted"] = bool(values["artifacts_deleted"])
    values["effects"] = values["effects"] or []
    return Job(**values)


def job_to_row(job: Job) -> dict[str, Any]:
    row = {name: getattr(job, name) for name in JOB_FIELDS}
    row["status"] = job.status.value
    row["effects"] = job.effects or None
    row["source_sha256"] = first_sha256(job.source_facts or [])
    return row


def insert_rows(new_jobs: Sequence[Job]) -> list[dict[str, Any]]:
    """The jobs as rows, leaving out the columns that are empty in every one of them: a
    new job has no lease, outputs or error yet, and each value sent costs time."""
    rows = [job_to_row(job) for job in new_jobs]
    used = {name for row in rows for name, value in row.items() if value is not None}
    return [{name: row[name] for name in used} for row in rows]


def queued_due(now: Any) -> Any:
    return and_(jobs.c.status == JobStatus.QUEUED.value, jobs.c.available_at <= now)


def lease_lost(now: Any) -> Any:
    """Processing under a lease that has run out (its worker is gone), attempts left."""
    return and_(
        jobs.c.status == JobStatus.PROCESSING.value,
        jobs.c.lease_expires_at < now,
        jobs.c.attempts < jobs.c.max_attempts,
    )


def runnable_rows(now: Any) -> Any:
    """Queued and due, or processing under a lease that has run out."""
    return or_(queued_due(now), lease_lost(now))


def take(which: Any, now: Any) -> Update:
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


def none_running(now: Any) -> Any:
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


def build_claim(sequential: bool = False) -> Update:
    """The claim statement, built once: its values are bound per call.

    The oldest runnable jobs are the oldest of two short lists, each read in order off an
    index and cut at the limit: the queued jobs that are due (``ix_jobs_claim``), and the
    jobs whose lease ran out (few: at most those that were running). One query over both
    conditions at once would gather and sort every queued row on every claim, a cost that
    grows with the backlog (docs/performance.md, "Claims and a deep queue")."""
    now = bindparam("now", type_=Float)
    limit = bindparam("limit", type_=Integer)
    order = (jobs.c.available_at, jobs.c.created_at)

    def oldest(condition: Any) -> Any:
        where = and_(condition, none_running(now)) if sequential else condition
        return (
            select(jobs.c.id, *order)
            .where(where)
            .order_by(*order)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .subquery()
        )

    queued, lost = oldest(queued_due(now)), oldest(lease_lost(now))
    candidates = union_all(select(queued), select(lost)).subquery()
    oldest_runnable = (
        select(candidates.c.id)
        .order_by(candidates.c.available_at, candidates.c.created_at)
        .limit(limit)
        .scalar_subquery()
    )
    return take(jobs.c.id.in_(oldest_runnable), now)


def build_claim_named(sequential: bool = False) -> Update:
    now = bindparam("now", type_=Float)
    named = jobs.c.id.in_(bindparam("job_ids", expanding=True))
    runnable = and_(runnable_rows(now), none_running(now)) if sequential else runnable_rows(now)
    return take(and_(named, runnable), now)


def finished(now: Any) -> dict[str, Any]:
    """What every finishing job's row gets: when it finished, and when it expires if it has
    a retention (null + a number is null)."""
    return {"finished_at": now, "expires_at": jobs.c.retention_s + now}


def released(now: Any) -> dict[str, Any]:
    """What every row a worker lets go of gets: changed now, no lease on it."""
    return {"updated_at": now, "lease_owner": null(), "lease_expires_at": null()}


def succeeded(now: Any) -> dict[str, Any]:
    """What a succeeding job's row becomes, besides its outputs (and facts)."""
    return {
        "status": JobStatus.SUCCEEDED.value,
        "progress": 100,
        **finished(now),
        **released(now),
        "error_code": null(),
        "error_message": null(),
    }


def build_succeed(*, with_facts: bool = False) -> Update:
    """A job's success, if this worker still owns it: its outputs (``job_outputs``), and
    its source facts too ``with_facts`` (``facts``, ``sha256``)."""
    facts = (
        {
            "source_facts": bindparam("facts", type_=jobs.c.source_facts.type),
            "source_sha256": bindparam("sha256", type_=String),
        }
        if with_facts
        else {}
    )
    return (
        update(jobs)
        .where(
            jobs.c.id == bindparam("job_id", type_=String),
            jobs.c.status == JobStatus.PROCESSING.value,
            jobs.c.lease_owner == bindparam("worker", type_=String),
        )
        .values(
            outputs=bindparam("job_outputs", type_=jobs.c.outputs.type),
            **facts,
            **succeeded(bindparam("now", type_=Float)),
        )
    )


CLAIM = build_claim()
CLAIM_NAMED = build_claim_named()
CLAIM_ONE_AT_A_TIME = build_claim(sequential=True)
CLAIM_NAMED_ONE_AT_A_TIME = build_claim_named(sequential=True)
# Claims of a sequential store take this lock first (PostgreSQL), so that two claimers
# cannot both see no job running; SQLite's writers are serialised anyway.
SEQUENTIAL_LOCK = text("SELECT pg_advisory_xact_lock(4242001)")
SUCCEED = build_succeed()
# One job's success, returning what its webhook and effects need: built once, since
# building a statement costs more than running it (about 0.5 ms a job).
SUCCEED_ONE = build_succeed().returning(jobs.c.id, jobs.c.webhook_url, jobs.c.effects)
SUCCEED_ONE_WITH_FACTS = build_succeed(with_facts=True).returning(
    jobs.c.id, jobs.c.webhook_url, jobs.c.effects
)

JOBS_AHEAD = (
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

# Jobs by id, and only their state (what an event stream reports), for up to
# JOBS_BY_ID_BATCH ids at once: what the event streams' shared reader runs each tick.
JOBS_BY_ID = select(jobs).where(jobs.c.id.in_(bindparam("ids", expanding=True)))
JOB_STATES_BY_ID = select(
    jobs.c.id, jobs.c.status, jobs.c.progress, jobs.c.attempts, jobs.c.expired_at
).where(jobs.c.id.in_(bindparam("ids", expanding=True)))
JOBS_BY_ID_BATCH = 500


def filtered(query: Select[Any], filters: JobFilter) -> Select[Any]:
    """``query`` narrowed to the jobs ``filters`` select, expired ones left out."""
    query = query.where(jobs.c.expired_at.is_(None))
    if filters.owner is not None:
        query = query.where(jobs.c.owner == filters.owner)
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


def first_sha256(facts: list[SourceFactsRecord]) -> str | None:
    """The first source's digest, kept in its own indexed column for look-ups by hash."""
    return facts[0].get("sha256") if facts else None


def facts_values(facts: list[SourceFactsRecord]) -> dict[str, Any]:
    return {"source_facts": facts, "source_sha256": first_sha256(facts)}


def schedule_failed(conn: Connection, rows: Sequence[RowMapping]) -> None:
    """Webhook deliveries and effects for the rows (full job rows) that just failed for
    good."""
    failed = [row for row in rows if row["status"] == JobStatus.FAILED.value]
    schedule_deliveries(
        conn,
        [(row["id"], row["webhook_url"], EVENT_FAILED) for row in failed if row["webhook_url"]],
    )
    schedule_effects(conn, [(row["id"], row["effects"], JobStatus.FAILED.value) for row in failed])


def schedule_succeeded(conn: Connection, rows: Sequence[Any]) -> None:
    """Webhook deliveries and effects for jobs that just succeeded: (id, webhook URL,
    effects) rows."""
    schedule_deliveries(conn, [(r[0], r[1], EVENT_SUCCEEDED) for r in rows if r[1]])
    schedule_effects(conn, [(r[0], r[2], JobStatus.SUCCEEDED.value) for r in rows])


def wake_workers(conn: Connection) -> None:
    """Wake listening workers when this transaction commits (PostgreSQL); SQLite's poll."""
    if conn.dialect.name == "postgresql":
        conn.execute(NOTIFY_JOBS)


def queued_count(owner: str) -> Select[Any]:
    """How many of an API key's jobs wait in the queue."""
    return (
        select(func.count())
        .select_from(jobs)
        .where(jobs.c.owner == owner, jobs.c.status == JobStatus.QUEUED.value)
    )
