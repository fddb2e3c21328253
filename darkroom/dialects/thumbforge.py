"""Seed 004 (../shared/seeds/004_*.txt): ThumbForge, thumbnails of images by URL.

Under ``/v1`` (THUMBFORGE_API_V1_PREFIX): POST /images, POST /images/batch (several
URLs: ``{accepted, duplicates, failed}``), GET /images (limit/offset, status and
created_at filters), GET /images/{job_id}, GET /images/{job_id}/thumbnail (with ETag,
Last-Modified and byte ranges, as its FileResponse answered), GET /metrics. Errors answer
as FastAPI does, ``{"detail": …}``: 422 with the validation errors, 404 "Job not found",
404 "Thumbnail unavailable" before the thumbnail exists, 409 for a duplicate under
``reject-active``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AnyHttpUrl, BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from darkroom.api.deps import ServiceDep, VariantsDep
from darkroom.api.output_files import finished_output, output_bytes
from darkroom.dialects.base import (
    DIALECT_LABEL,
    DialectDefaults,
    MountedRouter,
    SeedVariables,
    enabled_dialect,
    iso_utc,
    own_job,
    route_class,
    source_media_type,
)
from darkroom.dialects.stored_file import stored_file_response
from darkroom.jobs.bounds import MAX_INT64, epoch_seconds
from darkroom.jobs.errors import NotFound, ServiceError
from darkroom.jobs.model import Job, JobFilter
from darkroom.jobs.sources import IncomingSource
from darkroom.jobs.spec import JobOptions, OutputIn
from darkroom.jobs.status import JobStatus
from darkroom.service import JobService

NOT_FOUND = "Job not found"
NAME = "thumbforge"
OUTPUT = "thumbnail"
URL_HASH_LABEL = "thumbforge.url_hash"
JPEG_QUALITY = 90
BATCH_MAX_URLS = 100  # darkroom's bound on one batch request
# A created_at bound is inclusive here; the store's are strict.
_EDGE = 1e-6

Status = Literal["pending", "processing", "completed", "failed"]
STATUS: dict[JobStatus, Status] = {
    JobStatus.QUEUED: "pending",
    JobStatus.PROCESSING: "processing",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "failed",
}
FROM_STATUS = {
    "pending": JobStatus.QUEUED,
    "processing": JobStatus.PROCESSING,
    "completed": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
}
DuplicateHandling = Literal["allow-retry", "reuse-completed", "reject-active"]


class Variables(SeedVariables):
    database_url: str | None = Field(None, alias="THUMBFORGE_DATABASE_URL")
    redis_url: str | None = Field(None, alias="THUMBFORGE_REDIS_URL")
    storage_path: str | None = Field(None, alias="THUMBFORGE_STORAGE_PATH")
    queue_name: str | None = Field(None, alias="THUMBFORGE_QUEUE_NAME")
    duplicate_handling: DuplicateHandling = Field(
        "allow-retry", alias="THUMBFORGE_DUPLICATE_HANDLING"
    )
    thumbnail_size: int = Field(256, alias="THUMBFORGE_THUMBNAIL_SIZE", ge=16)
    default_page_size: int = Field(20, alias="THUMBFORGE_DEFAULT_PAGE_SIZE", ge=1)
    max_page_size: int = Field(100, alias="THUMBFORGE_MAX_PAGE_SIZE", ge=1)
    api_v1_prefix: str = Field("/v1", alias="THUMBFORGE_API_V1_PREFIX")
    http_timeout_seconds: float | None = Field(None, alias="THUMBFORGE_HTTP_TIMEOUT_SECONDS", gt=0)
    worker_processes: int | None = Field(None, alias="THUMBFORGE_WORKER_PROCESSES", ge=1)
    log_level: str | None = Field(None, alias="THUMBFORGE_LOG_LEVEL")
    # accepted, no effect: darkroom's own names (docs/compatibility.md)
    app_name: str | None = Field(None, alias="THUMBFORGE_APP_NAME")
    worker_poll_timeout: float | None = Field(None, alias="THUMBFORGE_WORKER_POLL_TIMEOUT")


class ImageIn(BaseModel):
    url: AnyHttpUrl


class BatchIn(BaseModel):
    urls: list[AnyHttpUrl] = Field(min_length=1, max_length=BATCH_MAX_URLS)


class ImageJob(BaseModel):
    id: uuid.UUID
    url: str
    status: Status
    attempts: int
    created_at: str
    updated_at: str
    result: dict[str, Any] | None = Field(
        None,
        description="When completed: the source's width, height, format, size_bytes, "
        "thumbnail_path, source_content_type and source_url",
    )
    error: str | None = None


class Duplicate(BaseModel):
    url: str
    job_id: uuid.UUID = Field(description="The job still pending or processing for the URL")
    message: str = "Job already active"


class Failure(BaseModel):
    url: str
    error: str


class BatchOut(BaseModel):
    accepted: list[ImageJob] = Field(description="A job record per URL queued (or reused)")
    duplicates: list[Duplicate] = Field(
        description="URLs refused under reject-active: a job for them is active"
    )
    failed: list[Failure] = Field(description="URLs darkroom refused, with why")


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int
    has_more: bool


class ImageJobList(BaseModel):
    items: list[ImageJob]
    pagination: Pagination


class Metrics(BaseModel):
    total: int
    pending: int
    processing: int
    completed: int
    failed: int


class Detail(BaseModel):
    detail: Any


def _respond(exc: Exception) -> Response:
    if isinstance(exc, RequestValidationError | ValidationError):
        return JSONResponse({"detail": jsonable_encoder(exc.errors())}, 422)
    if isinstance(exc, ServiceError):
        return JSONResponse({"detail": exc.details or exc.message}, exc.status_code)
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, exc.status_code)


class ActiveDuplicate(ServiceError):
    """reject-active: the newest job for the URL is pending or processing."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            "Job already active",
            code="duplicate_active",
            status_code=409,
            details={"message": "Job already active", "job_id": job_id},
        )
        self.job_id = job_id


def url_hash(url: str) -> str:
    return hashlib.sha256(url.strip().lower().encode()).hexdigest()


def _record(job: Job) -> ImageJob:
    source = job.sources[0]
    source_url = source["url"] if source["kind"] == "url" else ""
    result = None
    output = job.output(OUTPUT)
    if job.status is JobStatus.SUCCEEDED and output is not None and job.source_facts:
        facts = job.source_facts[0]
        result = {
            "width": facts["width"],
            "height": facts["height"],
            "format": facts["format"].upper(),
            "size_bytes": facts["bytes"],
            "thumbnail_path": output["key"],
            "source_content_type": source_media_type(facts["format"]),
            "source_url": source_url,
        }
    failed = job.status in (JobStatus.FAILED, JobStatus.CANCELED)
    return ImageJob(
        id=uuid.UUID(job.id),
        url=source_url,
        status=STATUS[job.status],
        attempts=job.attempts,
        created_at=iso_utc(job.created_at),
        updated_at=iso_utc(job.updated_at),
        result=result,
        error=(job.error_message or job.error_code) if failed else None,
    )


class ThumbForge(DialectDefaults):
    name = NAME
    seed = "004"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.variables: Variables = Variables.read(environ)
        self.thumbnail_output = OutputIn(
            name=OUTPUT,
            op="thumbnail",
            width=self.variables.thumbnail_size,
            height=self.variables.thumbnail_size,
            format="jpeg",
            quality=JPEG_QUALITY,
        )

    def settings(self) -> dict[str, Any]:
        v = self.variables
        found: dict[str, Any] = {
            "broker_url": v.redis_url,
            "broker_stream": v.queue_name,
            "storage_url": v.storage_path,
            "download_timeout_s": v.http_timeout_seconds,
            "workers": v.worker_processes,
            "log_level": v.log_level.lower() if v.log_level else None,
        }
        if v.database_url:
            # The service's async driver; darkroom's is psycopg.
            found["database_url"] = v.database_url.replace("+asyncpg", "+psycopg", 1)
        return found

    def routers(self, prefix: str) -> list[MountedRouter]:
        mounted = [MountedRouter(router, prefix + self.variables.api_v1_prefix.rstrip("/"))]
        if prefix:  # at the root, darkroom's own /healthz answers {"status": "ok", …}
            mounted.append(MountedRouter(health_router, prefix))
        return mounted


async def _thumbforge(request: Request) -> ThumbForge:
    return enabled_dialect(request, NAME, ThumbForge)


ThumbForgeDep = Annotated[ThumbForge, Depends(_thumbforge)]
_ThumbForgeRoute = route_class(_respond)
# Under THUMBFORGE_API_V1_PREFIX.
router = APIRouter(
    tags=["drop-in: thumbforge (seed 004)"],
    route_class=_ThumbForgeRoute,
    responses={422: {"model": Detail}},
)
# Beside it, only where the dialect is mounted under a prefix.
health_router = APIRouter(
    tags=["drop-in: thumbforge (seed 004)"],
    route_class=_ThumbForgeRoute,
    responses={422: {"model": Detail}},
)


def _submit_url(thumbforge: ThumbForge, service: JobService, url: str) -> ImageJob:
    """A job for ``url``, or the one THUMBFORGE_DUPLICATE_HANDLING reuses; ActiveDuplicate
    when it refuses one."""
    duplicate_handling = thumbforge.variables.duplicate_handling
    digest = url_hash(url)
    latest = _latest(service, digest)
    if latest is not None:
        status = STATUS[latest.status]
        if duplicate_handling == "reuse-completed" and status == "completed":
            return _record(latest)
        if duplicate_handling == "reject-active" and status in ("pending", "processing"):
            raise ActiveDuplicate(latest.id)
    labels = {DIALECT_LABEL: NAME, URL_HASH_LABEL: digest}
    job, _ = service.submit(
        JobOptions(outputs=[thumbforge.thumbnail_output], labels=labels),
        [IncomingSource(url=url)],
    )
    return _record(job)


# 400: a body FastAPI could not parse, as the service answered it; 403: a URL the
# outbound guard refuses (docs/security.md)
@router.post(
    "/images",
    status_code=202,
    response_model=ImageJob,
    responses={status: {"model": Detail} for status in (400, 403, 409)},
)
def submit(body: ImageIn, thumbforge: ThumbForgeDep, service: ServiceDep) -> ImageJob:
    """Queue a thumbnail of the image at `url`; THUMBFORGE_DUPLICATE_HANDLING decides
    what a URL already submitted gets."""
    return _submit_url(thumbforge, service, str(body.url))


@router.post(
    "/images/batch", status_code=202, response_model=BatchOut, responses={400: {"model": Detail}}
)
def submit_batch(body: BatchIn, thumbforge: ThumbForgeDep, service: ServiceDep) -> BatchOut:
    """Queue a thumbnail of each URL, in order, as POST /images would one by one:
    `accepted` has the job records (new, or reused under reuse-completed),
    `duplicates` the URLs refused under reject-active, `failed` those darkroom
    refused (a destination the outbound guard forbids, …)."""
    answer = BatchOut(accepted=[], duplicates=[], failed=[])
    for given in body.urls:
        url = str(given)
        try:
            answer.accepted.append(_submit_url(thumbforge, service, url))
        except ActiveDuplicate as exc:
            answer.duplicates.append(Duplicate(url=url, job_id=uuid.UUID(exc.job_id)))
        except ServiceError as exc:
            answer.failed.append(Failure(url=url, error=exc.message))
    return answer


@router.get("/images", response_model=ImageJobList)
def list_images(
    thumbforge: ThumbForgeDep,
    service: ServiceDep,
    status: Status | None = None,
    created_before: datetime | None = None,
    created_after: datetime | None = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,  # what the databases take
) -> ImageJobList:
    """Newest first; `limit` defaults to THUMBFORGE_DEFAULT_PAGE_SIZE and is capped
    at THUMBFORGE_MAX_PAGE_SIZE; the created_at bounds are inclusive."""
    v = thumbforge.variables
    effective = min(limit or v.default_page_size, v.max_page_size)
    filters = JobFilter(
        status=FROM_STATUS[status] if status else None,
        created_after=epoch_seconds(created_after) - _EDGE if created_after else None,
        created_before=epoch_seconds(created_before) + _EDGE if created_before else None,
        labels={DIALECT_LABEL: NAME},
    )
    found, total = service.store.list_offset(filters, limit=effective, offset=offset)
    return ImageJobList(
        items=[_record(j) for j in found],
        pagination=Pagination(
            total=total,
            limit=effective,
            offset=offset,
            has_more=offset + len(found) < total,
        ),
    )


@router.get("/images/{job_id}", response_model=ImageJob, responses={404: {"model": Detail}})
def get_image(job_id: uuid.UUID, service: ServiceDep) -> ImageJob:
    return _record(own_job(service, str(job_id), NAME, NOT_FOUND))


@router.get(
    "/images/{job_id}/thumbnail",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}},
        206: {"description": "The byte range asked for (Range)"},
        304: {"description": "Not modified (If-None-Match, If-Modified-Since)"},
        404: {"model": Detail},
        416: {"description": "The range starts past the end of the thumbnail"},
    },
)
async def get_thumbnail(
    job_id: uuid.UUID,
    request: Request,
    service: ServiceDep,
    variants: VariantsDep,
) -> Response:
    """The JPEG thumbnail; 404 "Thumbnail unavailable" until the job completed.
    `ETag` (the SHA-256 of the JPEG), `Last-Modified` (when it was stored) and
    `Accept-Ranges: bytes`, as a file is served: 304 for a matching
    If-None-Match or If-Modified-Since, 206 for one byte range."""
    job = await run_in_threadpool(own_job, service, str(job_id), NAME, NOT_FOUND)
    try:
        output = finished_output(job, OUTPUT)
    except ServiceError as exc:
        raise NotFound("Thumbnail unavailable") from exc
    try:
        data, _ = await output_bytes(variants, job, output)
    except NotFound as exc:
        raise NotFound("Thumbnail missing") from exc
    return stored_file_response(
        request,
        data,
        media_type="image/jpeg",
        modified_at=job.finished_at or job.updated_at,
        headers={"Content-Disposition": f'attachment; filename="{job.id}.jpg"'},
    )


@router.get("/metrics", response_model=Metrics)
def metrics(service: ServiceDep) -> Metrics:
    """Jobs per status."""
    counts = service.store.status_counts({DIALECT_LABEL: NAME})
    per: dict[str, int] = dict.fromkeys(FROM_STATUS, 0)
    for status, count in counts.items():
        per[STATUS[status]] += count
    return Metrics(total=sum(per.values()), **per)


@health_router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _latest(service: JobService, digest: str) -> Job | None:
    filters = JobFilter(labels={DIALECT_LABEL: NAME, URL_HASH_LABEL: digest})
    found, _ = service.store.list_offset(filters, limit=1, offset=0)
    return found[0] if found else None
