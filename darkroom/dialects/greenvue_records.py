"""The greenvue dialect's rows: listing images waiting for the batch processor, and the
scheduled job that runs it (seed 002's image queue and jobs API, made durable)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from darkroom.dialects.greenvue_schema import background_jobs, listing_images
from darkroom.store.database import reader_of

PENDING, PROCESSING, PROCESSED, RETRY, FAILED = (
    "pending",
    "processing",
    "processed",
    "retry",
    "failed",
)
WAITING = (PENDING, RETRY)
QUEUE_JOB = "process-image-queue"
PROCESS_IMAGES = "process_images"
# Claims take this lock first on PostgreSQL (SKIP LOCKED would do, but one batch per tick
# cluster-wide is what the scheduler's last_run_at guarantees anyway).
_CLAIM_LOCK = text("SELECT pg_advisory_xact_lock(4242002)")


@dataclass(frozen=True)
class ListingImage:
    id: str
    listing_title: str
    file_name: str
    source_key: str
    status: str
    retries: int
    error: str
    created_at: float
    updated_at: float
    processed_at: float | None
    lease_expires_at: float | None


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    name: str
    description: str
    type: str
    interval_s: float
    payload: dict[str, Any]
    active: bool
    created_at: float
    updated_at: float
    last_run_at: float | None


def _image(row: Any) -> ListingImage:
    return ListingImage(**{k: row[k] for k in ListingImage.__dataclass_fields__})


def _job(row: Any) -> ScheduledJob:
    return ScheduledJob(**{k: row[k] for k in ScheduledJob.__dataclass_fields__})


class ListingImages:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = reader_of(engine)

    def add(self, image: ListingImage) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(listing_images).values(**image.__dict__))

    def get(self, image_id: str) -> ListingImage | None:
        with self.reader.connect() as conn:
            row = conn.execute(
                select(listing_images).where(listing_images.c.id == image_id)
            ).mappings()
            found = row.first()
        return _image(found) if found else None

    def processing(self) -> int:
        """Images whose job is under way."""
        query = select(func.count()).where(listing_images.c.status == PROCESSING)
        with self.reader.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def waiting(self) -> int:
        """Images pending or due for a retry."""
        query = select(func.count()).where(listing_images.c.status.in_(WAITING))
        with self.reader.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def claim(self, limit: int, lease_s: float, only: str | None = None) -> list[ListingImage]:
        """Up to ``limit`` waiting images, oldest first, now processing under a lease;
        images whose processing outlived its lease (a killed process) are waiting again."""
        now = time.time()
        due = or_(
            listing_images.c.status.in_(WAITING),
            and_(
                listing_images.c.status == PROCESSING,
                listing_images.c.lease_expires_at < now,
            ),
        )
        if only is not None:
            due = and_(due, listing_images.c.id == only)
        oldest = (
            select(listing_images.c.id)
            .where(due)
            .order_by(listing_images.c.created_at)
            .limit(limit)
            .scalar_subquery()
        )
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(_CLAIM_LOCK)
            rows = conn.execute(
                update(listing_images)
                .where(listing_images.c.id.in_(oldest))
                .values(status=PROCESSING, lease_expires_at=now + lease_s, updated_at=now)
                .returning(*listing_images.c)
            ).mappings()
            return sorted((_image(r) for r in rows), key=lambda i: i.created_at)

    def processed(self, image_id: str) -> None:
        now = time.time()
        self._set(image_id, status=PROCESSED, error="", processed_at=now, lease_expires_at=None)

    def failed(self, image: ListingImage, error: str, max_retries: int) -> str | None:
        """Record a failed try of ``image`` (as it was when claimed); the status it leaves:
        retry, or failed after the last. None when that try was recorded already."""
        retries = image.retries + 1
        status = RETRY if retries < max_retries else FAILED
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(listing_images)
                .where(
                    listing_images.c.id == image.id,
                    listing_images.c.status == PROCESSING,
                    listing_images.c.retries == image.retries,
                )
                .values(
                    status=status,
                    retries=retries,
                    error=error,
                    processed_at=time.time() if status == FAILED else None,
                    lease_expires_at=None,
                    updated_at=time.time(),
                )
            ).rowcount
        return status if changed else None

    def _set(self, image_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(listing_images)
                .where(listing_images.c.id == image_id)
                .values(**values, updated_at=time.time())
            )


class ScheduledJobs:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = reader_of(engine)

    def get(self, job_id: str) -> ScheduledJob | None:
        with self.reader.connect() as conn:
            row = conn.execute(
                select(background_jobs).where(background_jobs.c.id == job_id)
            ).mappings()
            found = row.first()
        return _job(found) if found else None

    def ensure(self, job: ScheduledJob) -> None:
        """Create ``job`` unless a row with its id exists (even a stopped one)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(background_jobs).values(**job.__dict__))
        except IntegrityError:
            pass

    def put(self, job: ScheduledJob) -> ScheduledJob:
        """Create or replace (restart) ``job``."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(background_jobs)
                .where(background_jobs.c.id == job.id)
                .values(**{k: v for k, v in job.__dict__.items() if k != "created_at"})
            ).rowcount
            if not changed:
                conn.execute(insert(background_jobs).values(**job.__dict__))
        found = self.get(job.id)
        assert found is not None
        return found

    def stop(self, job_id: str) -> bool:
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(background_jobs)
                .where(background_jobs.c.id == job_id, background_jobs.c.active.is_(True))
                .values(active=False, updated_at=time.time())
            ).rowcount
        return bool(changed)

    def take_turn(self, job_id: str) -> ScheduledJob | None:
        """The job, if it is active and due, with its last run set to now: one process in
        the cluster gets each turn."""
        now = time.time()
        seen = self.get(job_id)  # a read first: most ticks find nothing due, and write nothing
        if seen is None or not seen.active:
            return None
        if seen.last_run_at is not None and seen.last_run_at > now - seen.interval_s + 0.05:
            return None
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    update(background_jobs)
                    .where(
                        background_jobs.c.id == job_id,
                        background_jobs.c.active.is_(True),
                        or_(
                            background_jobs.c.last_run_at.is_(None),
                            background_jobs.c.last_run_at
                            <= now - background_jobs.c.interval_s + 0.05,
                        ),
                    )
                    .values(last_run_at=now)
                    .returning(*background_jobs.c)
                )
                .mappings()
                .first()
            )
        return _job(row) if row else None
