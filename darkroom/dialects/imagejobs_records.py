"""The imagejobs dialect's records (seed 001's image_jobs collection), in darkroom's
database: the model exactly as that system has it."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from darkroom.dialects.imagejobs_schema import image_jobs
from darkroom.store.database import reader_of

PENDING, PROCESSING, COMPLETED, FAILED = "PENDING", "PROCESSING", "COMPLETED", "FAILED"
STATUSES = (PENDING, PROCESSING, COMPLETED, FAILED)
ENTITY_TYPES = ("event", "report", "other")


def new_id() -> str:
    """24 hex digits, as a MongoDB ObjectId: the time in seconds, then random."""
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def js_time(ts: float | None) -> str | None:
    """As JavaScript writes a Date: 2024-01-01T00:00:00.000Z."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int(ts * 1000) % 1000:03d}Z"
    )


@dataclass(frozen=True)
class ImageJob:
    id: str
    entity_type: str
    entity_id: str
    source_key: str
    source_url: str
    status: str
    original_filename: str
    mimetype: str
    file_size: int
    created_at: float
    updated_at: float
    error_msg: str = ""
    output_key: str | None = None
    output_url: str | None = None
    processed_at: float | None = None

    def to_api(self) -> dict[str, Any]:
        """The document as the system's API shows it; fields not set yet are left out."""
        document: dict[str, Any] = {
            "_id": self.id,
            "entityType": self.entity_type,
            "entityId": self.entity_id,
            "sourceImageURL": self.source_url,
            "sourceImageKey": self.source_key,
            "outputImageURL": self.output_url,
            "outputImageKey": self.output_key,
            "status": self.status,
            "errorMsg": self.error_msg,
            "originalFilename": self.original_filename,
            "mimetype": self.mimetype,
            "fileSize": self.file_size,
            "createdAt": js_time(self.created_at),
            "updatedAt": js_time(self.updated_at),
            "processedAt": js_time(self.processed_at),
        }
        return {k: v for k, v in document.items() if v is not None}


_COLUMNS = [f.name for f in fields(ImageJob)]


def _job(row: Any) -> ImageJob:
    return ImageJob(**{name: row[name] for name in _COLUMNS})


class ImageJobRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = reader_of(engine)

    def insert(self, job: ImageJob) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(image_jobs).values(**{n: getattr(job, n) for n in _COLUMNS}))

    def get(self, job_id: str) -> ImageJob | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(image_jobs).where(image_jobs.c.id == job_id)).mappings()
            found = row.first()
        return _job(found) if found else None

    def by_entity(self, entity_type: str | None, entity_id: str | None) -> list[ImageJob]:
        query = select(image_jobs).order_by(image_jobs.c.created_at.desc())
        if entity_type:
            query = query.where(image_jobs.c.entity_type == entity_type)
        if entity_id:
            query = query.where(image_jobs.c.entity_id == entity_id)
        with self.reader.connect() as conn:
            return [_job(row) for row in conn.execute(query).mappings()]

    def update(self, job_id: str, **values: Any) -> ImageJob | None:
        """Set ``values`` (column names) and updated_at; the record after, or None."""
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    update(image_jobs)
                    .where(image_jobs.c.id == job_id)
                    .values(**values, updated_at=time.time())
                    .returning(*image_jobs.c)
                )
                .mappings()
                .first()
            )
        return _job(row) if row else None

    def delete(self, job_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(image_jobs).where(image_jobs.c.id == job_id))

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(STATUSES, 0)
        query = select(image_jobs.c.status, func.count()).group_by(image_jobs.c.status)
        with self.reader.connect() as conn:
            for status, count in conn.execute(query).all():
                found[status] = int(count)
        return found

    def durations(self, last: int = 1000) -> list[float]:
        """processedAt - createdAt, in seconds, of the last ``last`` completed jobs."""
        query = (
            select(image_jobs.c.processed_at - image_jobs.c.created_at)
            .where(image_jobs.c.status == COMPLETED, image_jobs.c.processed_at.is_not(None))
            .order_by(image_jobs.c.processed_at.desc())
            .limit(last)
        )
        with self.reader.connect() as conn:
            return [float(v) for (v,) in conn.execute(query).all()]
