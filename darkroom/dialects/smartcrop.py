"""Seed 000 (../shared/seeds/000_*.txt): the smart-crop service with its chapter cover.

POST /thumbnail queues a job; GET /job/{id} reports it (queued, processing, done,
failed); GET /job/{id}/image serves the cover, converted on request (``width`` resizes it
as the service's converter did, enlarging it too); /health and /healthz report the
queue. Every error, a wrong method included, answers ``{"error": message}``, as the
service's did. A job of two or more images is a chapter pair cover (op "pair"); one image,
or compose_mode "single", is a smart crop (gravity auto) at preferred_ratio. The fields
the service decoded and then ignored (compose_mode, preferred_ratio, max_analysis_size,
apply_crop, output_path) are never refused, whatever they hold; quality is clamped. Server
paths that name no file are dropped, as the service dropped them, and listed in the
job's result. Jobs are kept JOB_TTL_HOURS after they finish.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from darkroom.api.deps import ServiceDep, SettingsDep, VariantsDep, public_base
from darkroom.dialects.base import (
    DIALECT_LABEL,
    BadRequest,
    DialectDefaults,
    MountedRouter,
    SeedVariables,
    enabled_dialect,
    message_errors,
    own_job,
    rfc3339,
    route_class,
)
from darkroom.dialects.smartcrop_image import cover_image
from darkroom.dialects.smartcrop_request import (
    BASE_LABEL,
    MODE_LABEL,
    ThumbnailIn,
    check_webhook,
    job_output,
    read_sources,
    skipped_labels,
    skipped_paths,
)
from darkroom.dialects.smartcrop_results import (
    STATUS,
    job_error,
    job_result,
    links,
    pending_counts,
    webhook_body_of,
)
from darkroom.jobs.bounds import MAX_RETENTION_S
from darkroom.jobs.delivery import DELIVERED, Delivery
from darkroom.jobs.errors import NotFound, ServiceError
from darkroom.jobs.model import Job
from darkroom.jobs.spec import JobOptions
from darkroom.jobs.status import JobStatus
from darkroom.service import JobService

NOT_FOUND = "job not found or expired"
NAME = "smartcrop"
DEFAULT_PROCESS_TIMEOUT_S = 1800  # JOB_PROCESS_TIMEOUT_SECONDS unset


def _at_least(minimum: int, default: int) -> BeforeValidator:
    """As the service read its numbers: not an integer, or under ``minimum``: ``default``."""

    def read(value: Any) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            return default
        return number if number >= minimum else default

    return BeforeValidator(read)


class Variables(SeedVariables):
    port: int | None = Field(None, alias="PORT", ge=1, le=65535)
    job_storage_dir: str | None = Field(None, alias="JOB_STORAGE_DIR")
    queue_capacity: Annotated[int, _at_least(1, 1000)] = Field(1000, alias="JOB_QUEUE_CAPACITY")
    # at most darkroom's longest retention (50 years): more is refused at start-up
    ttl_hours: Annotated[int, _at_least(1, 2)] = Field(
        2, alias="JOB_TTL_HOURS", le=MAX_RETENTION_S // 3600
    )
    process_timeout_s: Annotated[int, _at_least(30, DEFAULT_PROCESS_TIMEOUT_S)] = Field(
        DEFAULT_PROCESS_TIMEOUT_S, alias="JOB_PROCESS_TIMEOUT_SECONDS"
    )
    webhook_timeout_s: Annotated[int | None, _at_least(1, 15)] = Field(
        None, alias="WEBHOOK_TIMEOUT_SECONDS"
    )
    webhook_retries: Annotated[int | None, _at_least(1, 3)] = Field(None, alias="WEBHOOK_RETRIES")
    webhook_backoff_ms: Annotated[int | None, _at_least(100, 2000)] = Field(
        None, alias="WEBHOOK_BACKOFF_MS"
    )
    inline_max_bytes: Annotated[int, _at_least(65536, 20 * 1024 * 1024)] = Field(
        20 * 1024 * 1024, alias="INLINE_IMAGE_MAX_BYTES"
    )
    inline_max_count: Annotated[int, _at_least(1, 50)] = Field(50, alias="INLINE_IMAGE_MAX_COUNT")

    @property
    def ttl_s(self) -> int:
        """How long a finished job is kept (JOB_TTL_HOURS)."""
        return self.ttl_hours * 3600


# -- the answers ----------------------------------------------------------------------------


class EnqueueOut(BaseModel):
    job_id: str
    status: str
    queue_position: int
    pending_jobs: int
    job_url: str
    image_url: str
    created_at: str
    expires_in_seconds: int
    webhook_enabled: bool
    skipped_paths: list[str] | None = Field(
        None, description="Server paths that named no file (at most 20), when there were any"
    )
    skipped_count: int | None = Field(None, description="How many server paths were skipped")


class WebhookOut(BaseModel):
    enabled: bool
    url: str | None = None
    attempts: int = 0
    delivered: bool = False
    last_status_code: int | None = None
    last_error: str | None = None
    last_attempt_at: str | None = None
    delivered_at: str | None = None


class JobOut(BaseModel):
    job_id: str
    status: str = Field(description="queued, processing, done or failed")
    queue_position: int | None = Field(None, description="1 = next; 0 while processing")
    pending_jobs: int
    job_url: str
    image_url: str
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    expires_at: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    webhook: WebhookOut


class HealthOut(BaseModel):
    status: str = "ok"
    time: str
    uptime_seconds: int
    queued_jobs: int
    has_processing_job: bool
    tracked_jobs: int
    queue_capacity: int
    job_ttl_seconds: int
    job_timeout_seconds: int


class ErrorOut(BaseModel):
    error: str


_respond = message_errors(
    lambda message, _status: {"error": message}, lambda _exc: "invalid JSON body"
)
METHOD_NOT_ALLOWED = "method not allowed"


class SmartCropRoute(route_class(_respond)):  # type: ignore[misc]
    """A route of this dialect: a method it does not take answers 405 ``{"error": "method
    not allowed"}``, as the service's handlers did, not darkroom's own error body."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.methods and scope["method"] not in self.methods:
            allow = {"Allow": ", ".join(sorted(self.methods))}
            answer = JSONResponse({"error": METHOD_NOT_ALLOWED}, 405, headers=allow)
            await answer(scope, receive, send)
            return
        await super().handle(scope, receive, send)


class SmartCrop(DialectDefaults):
    name = NAME
    seed = "000"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.variables: Variables = Variables.read(environ)
        self.started = time.time()
        self.prefix = ""  # where DARKROOM_DIALECTS mounts it: part of the links it gives

    def settings(self) -> dict[str, Any]:
        v = self.variables
        found: dict[str, Any] = {
            "port": v.port,
            "data_dir": v.job_storage_dir,
            # 1800 s unless JOB_PROCESS_TIMEOUT_SECONDS says otherwise, as there;
            # DARKROOM_JOB_TIMEOUT_S, when set, still wins (registry.with_seed_settings)
            "job_timeout_s": v.process_timeout_s,
            "webhook_timeout_s": v.webhook_timeout_s,
            "webhook_attempts": v.webhook_retries,
        }
        if v.webhook_backoff_ms is not None:  # a fixed wait between attempts, as there
            found["webhook_backoff_s"] = found["webhook_backoff_max_s"] = (
                v.webhook_backoff_ms / 1000
            )
        return found

    def webhook_body(self, event: str, job: Job, link_base: str) -> bytes | None:
        return webhook_body_of(job)

    def routers(self, prefix: str) -> list[MountedRouter]:
        self.prefix = prefix.rstrip("/")
        return [MountedRouter(router, prefix)]


def _webhook(job: Job, delivery: Delivery | None) -> WebhookOut:
    if job.webhook_url is None:
        return WebhookOut(enabled=False)
    if delivery is None:
        return WebhookOut(enabled=True, url=job.webhook_url)
    delivered = delivery.state == DELIVERED
    return WebhookOut(
        enabled=True,
        url=delivery.url,
        attempts=delivery.attempts,
        delivered=delivered,
        last_status_code=delivery.last_status_code or None,
        last_error=None if delivered else delivery.last_error,
        last_attempt_at=rfc3339(delivery.last_attempt_at),
        delivered_at=rfc3339(delivery.delivered_at),
    )


def _job_out(service: JobService, job: Job) -> JobOut:
    """GET /job/{id}'s answer."""
    queued, processing = pending_counts(service)
    job_url, image_url = links(job)
    position = None
    if job.status is JobStatus.QUEUED:
        position = service.queue_position(job)
    elif job.status is JobStatus.PROCESSING:
        position = 0
    return JobOut(
        job_id=job.id,
        status=STATUS[job.status],
        queue_position=position,
        pending_jobs=queued + processing,
        job_url=job_url,
        image_url=image_url,
        created_at=rfc3339(job.created_at) or "",
        started_at=rfc3339(job.started_at),
        finished_at=rfc3339(job.finished_at),
        expires_at=rfc3339(job.expires_at),
        result=job_result(job, image_url),
        error=job_error(job),
        webhook=_webhook(job, service.delivery(job)),
    )


# -- the routes -------------------------------------------------------------------------------


async def _smartcrop(request: Request) -> SmartCrop:
    return enabled_dialect(request, NAME, SmartCrop)


SmartCropDep = Annotated[SmartCrop, Depends(_smartcrop)]

router = APIRouter(
    tags=["drop-in: smartcrop (seed 000)"],
    route_class=SmartCropRoute,
    responses={404: {"model": ErrorOut}, 405: {"model": ErrorOut}},
)
# POST /thumbnail reads its body itself; the schema tells clients what it takes.
_THUMBNAIL_BODY = ThumbnailIn.model_json_schema(ref_template="#/components/schemas/{model}")


@router.post(
    "/thumbnail",
    status_code=202,
    response_model=EnqueueOut,
    response_model_exclude_none=True,
    responses={
        400: {"model": ErrorOut},
        403: {"model": ErrorOut},
        413: {"model": ErrorOut},
        429: {"model": ErrorOut},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _THUMBNAIL_BODY}},
        }
    },
)
async def thumbnail(
    request: Request, smartcrop: SmartCropDep, service: ServiceDep, settings: SettingsDep
) -> EnqueueOut:
    """Queue a chapter cover (two or more images) or a smart crop (one image)."""
    v = smartcrop.variables
    try:
        raw = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadRequest("invalid JSON body") from exc
    if not isinstance(raw, dict):
        raise BadRequest("invalid JSON body")
    body = ThumbnailIn.model_validate(raw)
    base = public_base(request, settings.public_url) + smartcrop.prefix

    def enqueue() -> tuple[Job, int, int]:
        # looks for the server paths and decodes the inline images: off the loop
        sources, skipped = read_sources(
            body,
            settings.input_root,
            max_count=v.inline_max_count,
            max_bytes=v.inline_max_bytes,
        )
        output, mode = job_output(body, len(sources), settings)
        webhook = check_webhook(body.webhook_url) if body.webhook_url else None
        labels = {DIALECT_LABEL: NAME, BASE_LABEL: base, MODE_LABEL: mode}
        options = JobOptions(
            outputs=[output],
            webhook_url=webhook,
            retention_s=v.ttl_s,
            labels=labels | skipped_labels(skipped),
        )
        queued, processing = pending_counts(service)
        if queued >= v.queue_capacity:
            raise ServiceError(
                "queue is full, please retry later", code="queue_full", status_code=429
            )
        try:
            job, _ = service.submit(options, sources)
        except NotFound as exc:  # a file removed since it was looked for
            raise BadRequest(exc.message) from exc
        position = service.queue_position(job) or 0
        return job, position, queued + processing + 1

    job, position, pending = await run_in_threadpool(enqueue)
    job_url, image_url = links(job)
    listed, count = skipped_paths(job)
    return EnqueueOut(
        job_id=job.id,
        status=STATUS[job.status],
        queue_position=position,
        pending_jobs=pending,
        job_url=job_url,
        image_url=image_url,
        created_at=rfc3339(job.created_at) or "",
        expires_in_seconds=v.ttl_s,
        webhook_enabled=job.webhook_url is not None,
        skipped_paths=listed if count else None,
        skipped_count=count or None,
    )


@router.get("/job/{job_id}", response_model=JobOut, response_model_exclude_none=True)
def get_job(job_id: str, service: ServiceDep) -> JobOut:
    """The job: status, queue position, result and webhook delivery."""
    return _job_out(service, own_job(service, job_id, NAME, NOT_FOUND))


@router.get(
    "/job/{job_id}/image",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/avif": {}}},
        400: {"model": ErrorOut},
        409: {"model": ErrorOut},
        422: {"model": ErrorOut},
        500: {"model": ErrorOut},
        503: {"model": ErrorOut},  # darkroom's conversions busy: Retry-After (docs/api.md)
    },
)
async def image(
    job_id: str,
    service: ServiceDep,
    variants: VariantsDep,
    format: str = "",
    width: str = "",
    quality: str = "",
) -> Response:
    """The cover as stored (JPEG at the job's quality), or converted: `format` jpg
    or avif, `width` (aspect kept; above the cover's width it is enlarged),
    `quality` (0-100, default 95)."""
    job = await run_in_threadpool(own_job, service, job_id, NAME, NOT_FOUND)
    return await cover_image(variants, job, format, width, quality)


# The rest of what the service's /job/ handler answered, in its words.
async def no_job_id() -> Response:
    raise NotFound("job id is required")


async def job_path(
    job_id: str,
    rest: str,
    request: Request,
    service: ServiceDep,
    variants: VariantsDep,
) -> Response:
    # /job/{id}/ is the job and /job/{id}/image/ its image, as there; else 404
    part = rest.strip("/")
    if not part:
        job = await run_in_threadpool(own_job, service, job_id, NAME, NOT_FOUND)
        out = await run_in_threadpool(_job_out, service, job)
        return JSONResponse(out.model_dump(mode="json", exclude_none=True))
    if part == "image":
        q = request.query_params
        job = await run_in_threadpool(own_job, service, job_id, NAME, NOT_FOUND)
        return await cover_image(
            variants, job, q.get("format", ""), q.get("width", ""), q.get("quality", "")
        )
    raise NotFound("not found")


router.add_api_route("/job", no_job_id, methods=["GET"], include_in_schema=False)
router.add_api_route("/job/", no_job_id, methods=["GET"], include_in_schema=False)
router.add_api_route(
    "/job/{job_id}/{rest:path}", job_path, methods=["GET"], include_in_schema=False
)


def health(smartcrop: SmartCropDep, service: ServiceDep, settings: SettingsDep) -> HealthOut:
    queued, processing = pending_counts(service)
    tracked = sum(service.store.status_counts({DIALECT_LABEL: NAME}).values())
    return HealthOut(
        time=rfc3339(time.time()) or "",
        uptime_seconds=int(time.time() - smartcrop.started),
        queued_jobs=queued,
        has_processing_job=processing > 0,
        tracked_jobs=tracked,
        queue_capacity=smartcrop.variables.queue_capacity,
        job_ttl_seconds=smartcrop.variables.ttl_s,
        job_timeout_seconds=int(settings.job_timeout_s),
    )


router.add_api_route(
    "/health", health, methods=["GET"], response_model=HealthOut, summary="Queue figures"
)
router.add_api_route(
    "/healthz", health, methods=["GET"], response_model=HealthOut, summary="Queue figures"
)
