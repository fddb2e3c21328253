"""Seed 000 (../shared/seeds/000_*.txt): the smart-crop service with its chapter cover.

POST /thumbnail queues a job; GET /job/{id} reports it (queued, processing, done,
failed); GET /job/{id}/image serves the cover, converted on request; /health and /healthz
report the queue. Errors answer ``{"error": message}``. A job of two or more images is a
chapter pair cover (op "pair"); one image, or compose_mode "single", is a smart crop
(gravity auto) at preferred_ratio. Jobs are kept JOB_TTL_HOURS after they finish.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from darkroom import imaging
from darkroom.api.deps import BlobsDep, ServiceDep, SettingsDep
from darkroom.api.output_files import finished_output, output_bytes
from darkroom.dialects.base import (
    DIALECT_LABEL,
    BadRequest,
    DialectDefaults,
    SeedVariables,
    base_url,
    message_errors,
    own_job,
    rfc3339,
    route_class,
)
from darkroom.jobs.delivery import DELIVERED, Delivery
from darkroom.jobs.errors import JobFailed, NotFinished, NotFound, ServiceError
from darkroom.jobs.model import Job
from darkroom.jobs.service import JobService
from darkroom.jobs.sources import IncomingSource, decode_base64
from darkroom.jobs.spec import JobOptions, OutputIn
from darkroom.jobs.status import JobStatus

NOT_FOUND = "job not found or expired"
NAME = "smartcrop"
OUTPUT = "thumbnail"
BASE_LABEL = "smartcrop.base"  # the absolute base URL the job was submitted to
MODE_LABEL = "smartcrop.mode"
PAIR_MODE = "pair-smart-thumb"  # what the service called its chapter cover
SINGLE_MODE = "single"
PAIR_ALIASES = {"", "pair", "dual", "2up", PAIR_MODE}
DEFAULT_QUALITY = 95
DEFAULT_RATIO = 16 / 9
STATUS = {
    JobStatus.QUEUED: "queued",
    JobStatus.PROCESSING: "processing",
    JobStatus.SUCCEEDED: "done",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "failed",
}
EVENT = "thumbnail.job.completed"


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
    ttl_hours: Annotated[int, _at_least(1, 2)] = Field(2, alias="JOB_TTL_HOURS")
    process_timeout_s: Annotated[int | None, _at_least(30, 1800)] = Field(
        None, alias="JOB_PROCESS_TIMEOUT_SECONDS"
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


# -- the request --------------------------------------------------------------------------


class ImageFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    filename: str | None = None
    content_base64: str | None = Field(
        None, description="Standard or URL-safe base64, padded or not, or a data: URI"
    )


class ThumbnailIn(BaseModel):
    """Types are strict, as the service's JSON decoding was: "85" is not a number."""

    model_config = ConfigDict(strict=True, extra="ignore")

    image_path: str | None = Field(None, description="A file inside DARKROOM_INPUT_ROOT")
    image_paths: list[str] | None = Field(None, description="Files inside DARKROOM_INPUT_ROOT")
    image_files: list[ImageFile] | None = Field(None, description="Images sent inline")
    return_candidates: bool | None = Field(None, description="List the candidate pages")
    compose_mode: str | None = Field(
        None,
        description="pair (also dual, 2up; the default for two or more images) or single "
        "(a smart crop of the first image, the default for one)",
    )
    preferred_ratio: Any = Field(
        None, description='single mode: the crop\'s aspect, "16:9" or a number; default 16:9'
    )
    max_analysis_size: int | None = Field(
        None, description="Longest side analysed; 0 or unset: darkroom's default"
    )
    apply_crop: bool | None = Field(None, description="Accepted; the output is always cropped")
    quality: int | None = Field(None, description="JPEG quality of the cover, 1-100; default 95")
    webhook_url: str | None = Field(None, description="POSTed the job when it finishes")
    output_path: str | None = Field(None, description="Accepted, ignored: darkroom stores it")


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


# -- reading the request ----------------------------------------------------------------------


def _ratio(value: Any) -> float:
    """preferred_ratio: "16:9", "1.5" or 1.5; unset: 16:9."""
    if value is None or value == "":
        return DEFAULT_RATIO
    try:
        if isinstance(value, str) and ":" in value:
            w, h = (float(part) for part in value.split(":", 1))
            ratio = w / h
        else:
            ratio = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        ratio = math.nan
    if not (math.isfinite(ratio) and 0.05 <= ratio <= 20):
        raise BadRequest('preferred_ratio must be "W:H" or a positive number, from 0.05 to 20')
    return ratio


def _check_webhook(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise BadRequest("webhook_url is invalid") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise BadRequest("webhook_url must use http or https")
    if not parts.hostname:
        raise BadRequest("webhook_url host is required")
    return url.strip()


def _sources(body: ThumbnailIn, variables: Variables) -> list[IncomingSource]:
    """Server paths first (image_paths, then image_path), then the inline files."""
    paths = [p.strip() for p in body.image_paths or [] if p.strip()]
    single = (body.image_path or "").strip()
    if single and single not in paths:
        paths.append(single)
    files = body.image_files or []
    for index, item in enumerate(files):
        if not (item.content_base64 or "").strip():
            raise BadRequest(f"image_files[{index}].content_base64 is required")
    if not paths and not files:
        raise BadRequest("image_paths, image_path, or image_files is required")
    if len(files) > variables.inline_max_count:
        raise BadRequest(f"image_files exceeds max count ({variables.inline_max_count})")
    sources = [IncomingSource(path=path) for path in paths]
    for index, item in enumerate(files):
        try:
            data = decode_base64(item.content_base64 or "", max_bytes=variables.inline_max_bytes)
        except ServiceError as exc:
            if exc.status_code == 413:
                raise ServiceError(
                    f"image_files[{index}] exceeds max bytes ({variables.inline_max_bytes})",
                    code="payload_too_large",
                    status_code=413,
                ) from exc
            raise BadRequest(f"image_files[{index}] decode failed: {exc.message}") from exc
        name = (item.filename or "").strip() or f"upload-{index + 1:03d}"
        sources.append(IncomingSource(data=data, filename=name))
    return sources


def _output(body: ThumbnailIn, count: int, width: int) -> tuple[OutputIn, str]:
    quality = body.quality or DEFAULT_QUALITY
    if not 1 <= quality <= 100:
        raise BadRequest("quality must be between 1 and 100")
    analysis = body.max_analysis_size or None
    if analysis is not None and not 32 <= analysis <= 4096:
        raise BadRequest("max_analysis_size must be from 32 to 4096")
    mode = (body.compose_mode or "").strip().lower()
    if mode not in PAIR_ALIASES | {SINGLE_MODE}:
        raise BadRequest("compose_mode must be pair, dual, 2up or single")
    common: dict[str, Any] = {
        "name": OUTPUT,
        "format": imaging.OutputFormat.JPEG,
        "quality": quality,
        "max_analysis_size": analysis,
    }
    if count >= 2 and mode != SINGLE_MODE:
        pair = OutputIn(
            op=imaging.Operation.PAIR, return_candidates=bool(body.return_candidates), **common
        )
        return pair, PAIR_MODE
    height = max(1, round(width / _ratio(body.preferred_ratio)))
    cover = OutputIn(
        op=imaging.Operation.COVER,
        width=width,
        height=height,
        gravity=imaging.Gravity.AUTO,
        **common,
    )
    return cover, SINGLE_MODE


# -- describing a job -----------------------------------------------------------------------


def _links(job: Job) -> tuple[str, str]:
    job_url = f"{job.labels.get(BASE_LABEL, '')}/job/{job.id}"
    return job_url, f"{job_url}/image"


def _names(job: Job) -> list[str]:
    """Each source as the client named it: its path, or its file's name."""
    return [
        str(s.get("path") or s.get("filename") or f"upload-{i + 1:03d}")
        for i, s in enumerate(job.sources)
    ]


def _result(job: Job, image_url: str) -> dict[str, Any] | None:
    if not job.status.finished:
        return None
    mode = job.labels.get(MODE_LABEL, PAIR_MODE)
    output = job.output(OUTPUT) if job.status is JobStatus.SUCCEEDED else None
    if output is None:
        error = _error(job) or "failed"
        return {
            "crop_x": 0,
            "crop_y": 0,
            "crop_width": 0,
            "crop_height": 0,
            "method": "",
            "confidence": 0,
            "applied": False,
            "crop_error": error,
            "composition_mode": mode,
        }
    names = _names(job)
    wants_candidates = bool(job.spec["outputs"][0].get("return_candidates"))
    if "pair" in output:
        return _pair_result(output, names, image_url, wants_candidates)
    crop = output.get("crop") or {}
    result: dict[str, Any] = {
        "crop_x": crop.get("x", 0),
        "crop_y": crop.get("y", 0),
        "crop_width": crop.get("width", output["width"]),
        "crop_height": crop.get("height", output["height"]),
        "method": crop.get("method", ""),
        "confidence": crop.get("confidence") or 0,
        "applied": True,
        "output_path": image_url,
        "composition_mode": SINGLE_MODE,
        "composed_from": names[:1],
        "selected_page_index": 0,
        "selected_image_path": names[0],
    }
    return result


def _pair_result(
    output: dict[str, Any], names: list[str], image_url: str, wants_candidates: bool
) -> dict[str, Any]:
    pair = output["pair"]
    picked = pair["picked"]
    best = picked[0]
    result: dict[str, Any] = {
        "crop_x": 0,
        "crop_y": 0,
        "crop_width": output["width"],
        "crop_height": output["height"],
        "method": PAIR_MODE,
        "confidence": 1,
        "applied": True,
    }
    if pair.get("fallback_used"):
        result["fallback_used"] = True
    result["output_path"] = image_url
    if pair.get("warning"):
        result["worker_warning"] = pair["warning"]
    result |= {
        "composition_mode": PAIR_MODE,
        "composed_from": [names[p["index"]] for p in picked],
        "selected_page_index": best["index"],
        "selected_image_path": names[best["index"]],
        "selected_score": best["score"],
        "picked": picked,
    }
    if wants_candidates:
        result["candidates"] = [
            {
                "page_index": c["index"],
                "image_path": names[c["index"]],
                "crop_x": c["box"]["x"],
                "crop_y": c["box"]["y"],
                "crop_width": c["box"]["width"],
                "crop_height": c["box"]["height"],
                "method": "smart-thumb",
                "confidence": round(min(1.0, max(0.0, 1 - c["text_ratio"])), 4),
                "score": c["score"],
                "text_ratio": c["text_ratio"],
                "in_edge": c["in_edge"],
            }
            for c in pair.get("candidates") or picked
        ]
    return result


def _error(job: Job) -> str | None:
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELED):
        return None
    if job.status is JobStatus.CANCELED:
        return "canceled"
    return f"{job.error_code}: {job.error_message}" if job.error_code else job.error_message


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


def _pending(service: JobService) -> tuple[int, int]:
    """Jobs queued, and jobs processing, across darkroom."""
    stats = service.stats()
    return stats.queue_depth, stats.jobs.get(JobStatus.PROCESSING.value, 0)


class SmartCrop(DialectDefaults):
    name = NAME
    seed = "000"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.variables: Variables = Variables.read(environ)
        self.started = time.time()

    def settings(self) -> dict[str, Any]:
        v = self.variables
        found: dict[str, Any] = {
            "port": v.port,
            "data_dir": v.job_storage_dir,
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
        job_url, image_url = _links(job)
        body: dict[str, Any] = {
            "created_at": rfc3339(job.created_at),
            "event": EVENT,
            "expires_at": rfc3339(job.expires_at),
            "finished_at": rfc3339(job.finished_at),
            "image_url": image_url,
            "job_id": job.id,
            "job_url": job_url,
            "result": _result(job, image_url),
            "started_at": rfc3339(job.started_at),
            "status": STATUS[job.status],
        }
        if (error := _error(job)) is not None:
            body["error"] = error
        present = {k: v for k, v in body.items() if v is not None}
        return orjson.dumps(present, option=orjson.OPT_SORT_KEYS)

    def _job_out(self, service: JobService, job: Job) -> JobOut:
        queued, processing = _pending(service)
        job_url, image_url = _links(job)
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
            result=_result(job, image_url),
            error=_error(job),
            webhook=_webhook(job, service.delivery(job)),
        )

    def router(self, prefix: str) -> APIRouter:
        v = self.variables
        ttl_s = v.ttl_hours * 3600
        router = APIRouter(
            prefix=prefix,
            tags=["drop-in: smartcrop (seed 000)"],
            route_class=route_class(_respond),
            responses={404: {"model": ErrorOut}},
        )
        body_schema = ThumbnailIn.model_json_schema(ref_template="#/components/schemas/{model}")

        @router.post(
            "/thumbnail",
            status_code=202,
            response_model=EnqueueOut,
            responses={
                400: {"model": ErrorOut},
                413: {"model": ErrorOut},
                429: {"model": ErrorOut},
            },
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body_schema}},
                }
            },
        )
        async def thumbnail(
            request: Request, service: ServiceDep, settings: SettingsDep
        ) -> EnqueueOut:
            """Queue a chapter cover (two or more images) or a smart crop (one image)."""
            try:
                raw = orjson.loads(await request.body())
            except orjson.JSONDecodeError as exc:
                raise BadRequest("invalid JSON body") from exc
            if not isinstance(raw, dict):
                raise BadRequest("invalid JSON body")
            body = ThumbnailIn.model_validate(raw)
            base = base_url(request, settings.public_url)

            def enqueue() -> tuple[Job, int, int]:
                sources = _sources(body, v)  # decodes the inline images: off the event loop
                output, mode = _output(body, len(sources), settings.pair_width)
                webhook = _check_webhook(body.webhook_url) if body.webhook_url else None
                options = JobOptions(
                    outputs=[output],
                    webhook_url=webhook,
                    retention_s=ttl_s,
                    labels={DIALECT_LABEL: NAME, BASE_LABEL: base, MODE_LABEL: mode},
                )
                queued, processing = _pending(service)
                if queued >= v.queue_capacity:
                    raise ServiceError(
                        "queue is full, please retry later", code="queue_full", status_code=429
                    )
                try:
                    job, _ = service.submit(options, sources)
                except NotFound as exc:  # a server path that names no file
                    raise BadRequest(exc.message) from exc
                position = service.queue_position(job) or 0
                return job, position, queued + processing + 1

            job, position, pending = await run_in_threadpool(enqueue)
            job_url, image_url = _links(job)
            return EnqueueOut(
                job_id=job.id,
                status=STATUS[job.status],
                queue_position=position,
                pending_jobs=pending,
                job_url=job_url,
                image_url=image_url,
                created_at=rfc3339(job.created_at) or "",
                expires_in_seconds=ttl_s,
                webhook_enabled=job.webhook_url is not None,
            )

        @router.get("/job/{job_id}", response_model=JobOut, response_model_exclude_none=True)
        def get_job(job_id: str, service: ServiceDep) -> JobOut:
            """The job: status, queue position, result and webhook delivery."""
            return self._job_out(service, own_job(service, job_id, NAME, NOT_FOUND))

        @router.get(
            "/job/{job_id}/image",
            response_class=Response,
            responses={
                200: {"content": {"image/jpeg": {}, "image/avif": {}}},
                400: {"model": ErrorOut},
                409: {"model": ErrorOut},
                422: {"model": ErrorOut},
            },
        )
        async def image(
            job_id: str,
            service: ServiceDep,
            blobs: BlobsDep,
            settings: SettingsDep,
            format: str = "",
            width: str = "",
            quality: str = "",
        ) -> Response:
            """The cover as stored (JPEG at the job's quality), or converted: `format` jpg
            or avif, `width` (aspect kept), `quality` (0-100, default 95)."""
            job = await run_in_threadpool(own_job, service, job_id, NAME, NOT_FOUND)
            try:
                output = finished_output(job, OUTPUT)
            except NotFinished as exc:
                raise ServiceError("job is not completed yet", status_code=409) from exc
            except JobFailed as exc:
                raise ServiceError("job failed, image is not available", status_code=422) from exc
            except ServiceError as exc:
                raise NotFound("output image was deleted or not found") from exc
            target, size, q = _image_options(format, width, quality)
            stored_quality = job.spec["outputs"][0].get("quality") or DEFAULT_QUALITY
            as_stored = target is imaging.OutputFormat.JPEG and size is None
            try:
                data, served = await output_bytes(
                    blobs,
                    settings,
                    job,
                    output,
                    None if as_stored and q == stored_quality else target,
                    size,
                    None if as_stored and q == stored_quality else max(1, q),
                )
            except NotFound as exc:
                raise NotFound("output image was deleted or not found") from exc
            return Response(
                data,
                media_type=imaging.media_type(served),
                headers={"Cache-Control": "no-store"},
            )

        def health(service: ServiceDep, settings: SettingsDep) -> HealthOut:
            queued, processing = _pending(service)
            tracked = sum(service.store.status_counts({DIALECT_LABEL: NAME}).values())
            return HealthOut(
                time=rfc3339(time.time()) or "",
                uptime_seconds=int(time.time() - self.started),
                queued_jobs=queued,
                has_processing_job=processing > 0,
                tracked_jobs=tracked,
                queue_capacity=v.queue_capacity,
                job_ttl_seconds=ttl_s,
                job_timeout_seconds=int(settings.job_timeout_s),
            )

        for path in ("/health", "/healthz"):
            router.add_api_route(
                path, health, methods=["GET"], response_model=HealthOut, summary="Queue figures"
            )
        return router


def _query_int(text: str, not_a_number: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError as exc:
        raise BadRequest(not_a_number) from exc


def _image_options(
    format: str, width: str, quality: str
) -> tuple[imaging.OutputFormat, int | None, int]:
    """The image route's query, read as the service read it."""
    fmt = format.strip().lower()
    if fmt in ("", "jpg", "jpeg"):
        target = imaging.OutputFormat.JPEG
    elif fmt == "avif":
        target = imaging.OutputFormat.AVIF
    else:
        raise BadRequest("format must be one of: jpg, avif")
    size = _query_int(width, "width must be a positive integer")
    if size is not None and size <= 0:
        raise BadRequest("width must be greater than 0")
    q = _query_int(quality, "quality must be an integer between 0 and 100")
    if q is None:
        q = DEFAULT_QUALITY
    elif not 0 <= q <= 100:
        raise BadRequest("quality must be between 0 and 100")
    return target, size, q
