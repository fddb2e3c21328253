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

import math
import posixpath
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from darkroom.api.deps import BlobsDep, ServiceDep, SettingsDep, public_base
from darkroom.api.output_files import finished_output, media_type, output_bytes, resized_output
from darkroom.blobs import BlobStore
from darkroom.config import Settings
from darkroom.dialects.base import (
    DIALECT_LABEL,
    BadRequest,
    DialectDefaults,
    SeedVariables,
    message_errors,
    own_job,
    rfc3339,
    route_class,
)
from darkroom.jobs.delivery import DELIVERED, Delivery
from darkroom.jobs.errors import (
    IMAGE_ERROR_STATUS,
    JobFailed,
    NotFinished,
    NotFound,
    ServiceError,
)
from darkroom.jobs.model import Job
from darkroom.jobs.sources import (
    INVALID_PATH,
    IncomingSource,
    decode_base64,
    resolve_input_path,
)
from darkroom.jobs.spec import JobOptions, OutputIn
from darkroom.jobs.status import JobStatus
from darkroom.service import JobService

NOT_FOUND = "job not found or expired"
NAME = "smartcrop"
JPEG = "jpeg"
OUTPUT = "thumbnail"
BASE_LABEL = "smartcrop.base"  # the absolute base URL the job was submitted to
MODE_LABEL = "smartcrop.mode"
PAIR_MODE = "pair-smart-thumb"  # what the service called its chapter cover
SINGLE_MODE = "single"
DEFAULT_QUALITY = 95
DEFAULT_RATIO = 16 / 9
RATIO_RANGE = (0.05, 20.0)
ANALYSIS_RANGE = (32, 4096)
DEFAULT_PROCESS_TIMEOUT_S = 1800  # JOB_PROCESS_TIMEOUT_SECONDS unset
# Server paths that named no file: how many (a label), and the first MAX_LISTED of them,
# one label each (a label's value holds 256 characters; a job has at most 32 labels).
SKIPPED_LABEL = "smartcrop.skipped"
MAX_LISTED = 20
LABEL_VALUE_MAX = 256
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


# -- the request --------------------------------------------------------------------------


class ImageFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    filename: str | None = None
    content_base64: str | None = Field(
        None, description="Standard or URL-safe base64, padded or not, or a data: URI"
    )


class ThumbnailIn(BaseModel):
    """The fields the service used are typed strictly, as its JSON decoding was ("85" is
    not a number). Those it decoded and then ignored take any value and are never
    refused: darkroom reads the ones it uses where they make sense, else its default."""

    model_config = ConfigDict(strict=True, extra="ignore")

    image_path: str | None = Field(None, description="A file inside DARKROOM_INPUT_ROOT")
    image_paths: list[str] | None = Field(
        None, description="Files inside DARKROOM_INPUT_ROOT; those missing are skipped"
    )
    image_files: list[ImageFile] | None = Field(None, description="Images sent inline")
    return_candidates: bool | None = Field(None, description="List the candidate pages")
    compose_mode: Any = Field(
        None,
        description='"single": a smart crop of the first image (the default for one '
        "image); anything else: the pair cover for two or more images",
    )
    preferred_ratio: Any = Field(
        None,
        description='single mode: the crop\'s aspect, "16:9" or a number (0.05-20); '
        "anything else: 16:9",
    )
    max_analysis_size: Any = Field(
        None,
        description="Longest side analysed, clamped to 32-4096; 0, negative or not a "
        "number: darkroom's default",
    )
    apply_crop: Any = Field(None, description="Accepted, ignored: the output is always cropped")
    quality: int | None = Field(
        None, description="JPEG quality of the cover; 0, negative or unset: 95; above 100: 100"
    )
    webhook_url: str | None = Field(None, description="POSTed the job when it finishes")
    output_path: Any = Field(None, description="Accepted, ignored: darkroom stores it")


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


# -- reading the request ----------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A JSON number (not a boolean) as a float; anything else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _ratio(value: Any) -> float:
    """preferred_ratio, as the service's crop read it: "16:9", "1.5" or 1.5, positive;
    anything else (the service's queue ignored it): 16:9. Clamped to 0.05-20."""
    ratio: float | None = None
    if isinstance(value, str):
        text = value.strip()
        try:
            if ":" in text:
                w, h = (float(part) for part in text.split(":", 1))
                ratio = w / h if w > 0 and h > 0 else None
            elif text:
                ratio = float(text)
        except (ValueError, ZeroDivisionError):
            ratio = None
    else:
        ratio = _number(value)
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return DEFAULT_RATIO
    low, high = RATIO_RANGE
    return min(high, max(low, ratio))


def _analysis_size(value: Any) -> int | None:
    """max_analysis_size: a positive number, clamped to 32-4096; else darkroom's default."""
    number = _number(value)
    if number is None or number < 1:
        return None
    low, high = ANALYSIS_RANGE
    return min(high, max(low, int(number)))


def _quality(value: int | None) -> int:
    """quality: 0, negative or unset: 95; above 100: 100 (the service accepted any
    integer, and its earlier crop path read one so)."""
    if value is None or value <= 0:
        return DEFAULT_QUALITY
    return min(100, value)


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


def _server_paths(body: ThumbnailIn, root: Path | None) -> tuple[list[str], list[str]]:
    """(found, skipped): image_paths, then image_path unless it repeats one of them,
    split into the files found inside ``root`` and the paths that name no file, which the
    service dropped as well. A path outside ``root`` (or any path with no root) is still
    refused (403), before darkroom looks for it."""
    paths = [p.strip() for p in body.image_paths or [] if p.strip()]
    single = (body.image_path or "").strip()
    if single and posixpath.normpath(single) not in {posixpath.normpath(p) for p in paths}:
        paths.append(single)
    found: list[str] = []
    skipped: list[str] = []
    for path in paths:
        try:
            resolve_input_path(root, path)
        # NotFound: no such file (or not a file); invalid_path: a name the system cannot
        # look up (too long, a NUL, a symbolic link loop), which the service's stat
        # dropped as well. Outside the root stays refused.
        except NotFound:
            skipped.append(path)
        except ServiceError as exc:
            if exc.code != INVALID_PATH:
                raise
            skipped.append(path)
        else:
            found.append(path)
    return found, skipped


def _sources(
    body: ThumbnailIn, variables: Variables, root: Path | None
) -> tuple[list[IncomingSource], list[str]]:
    """The sources, server paths first, then the inline files; and the skipped paths."""
    paths, skipped = _server_paths(body, root)
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
    return sources, skipped


def _output(body: ThumbnailIn, count: int, settings: Settings) -> tuple[OutputIn, str]:
    """The job's one output and its mode. Never refuses: every value the service took
    gives a cover."""
    common: dict[str, Any] = {
        "name": OUTPUT,
        "format": JPEG,
        "quality": _quality(body.quality),
        "max_analysis_size": _analysis_size(body.max_analysis_size),
    }
    single = isinstance(body.compose_mode, str) and body.compose_mode.strip().lower() == "single"
    if count >= 2 and not single:
        pair = OutputIn(op="pair", return_candidates=bool(body.return_candidates), **common)
        return pair, PAIR_MODE
    width = settings.pair_width
    height = round(width / _ratio(body.preferred_ratio))
    cover = OutputIn(
        op="cover",
        width=width,
        height=min(settings.max_output_dimension, max(1, height)),
        gravity="auto",
        **common,
    )
    return cover, SINGLE_MODE


def _skipped_labels(skipped: list[str]) -> dict[str, str]:
    """How many paths were skipped, and the first MAX_LISTED of them, as labels."""
    if not skipped:
        return {}
    labels = {SKIPPED_LABEL: str(len(skipped))}
    for index, path in enumerate(skipped[:MAX_LISTED]):
        if len(path) > LABEL_VALUE_MAX:
            path = path[: LABEL_VALUE_MAX - 1] + "…"
        labels[f"{SKIPPED_LABEL}.{index}"] = path
    return labels


def _skipped(job: Job) -> tuple[list[str], int]:
    """The skipped paths listed on ``job``, and how many were skipped in all."""
    try:
        count = int(job.labels.get(SKIPPED_LABEL, "0"))
    except ValueError:  # not a label this dialect wrote
        return [], 0
    listed = [job.labels.get(f"{SKIPPED_LABEL}.{i}", "") for i in range(min(count, MAX_LISTED))]
    return listed, count


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
    """The service's ``result``, with ``skipped_paths`` and ``skipped_count`` added when
    server paths that named no file were dropped."""
    if not job.status.finished:
        return None
    result = _outcome(job, image_url)
    listed, count = _skipped(job)
    if count:
        result["skipped_paths"] = listed
        result["skipped_count"] = count
    return result


def _outcome(job: Job, image_url: str) -> dict[str, Any]:
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
    return {
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
            route_class=SmartCropRoute,
            responses={404: {"model": ErrorOut}, 405: {"model": ErrorOut}},
        )
        body_schema = ThumbnailIn.model_json_schema(ref_template="#/components/schemas/{model}")

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
            base = public_base(request, settings.public_url)

            def enqueue() -> tuple[Job, int, int]:
                # looks for the server paths and decodes the inline images: off the loop
                sources, skipped = _sources(body, v, settings.input_root)
                output, mode = _output(body, len(sources), settings)
                webhook = _check_webhook(body.webhook_url) if body.webhook_url else None
                labels = {DIALECT_LABEL: NAME, BASE_LABEL: base, MODE_LABEL: mode}
                options = JobOptions(
                    outputs=[output],
                    webhook_url=webhook,
                    retention_s=ttl_s,
                    labels=labels | _skipped_labels(skipped),
                )
                queued, processing = _pending(service)
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
            job_url, image_url = _links(job)
            listed, count = _skipped(job)
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
                skipped_paths=listed if count else None,
                skipped_count=count or None,
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
                500: {"model": ErrorOut},
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
            or avif, `width` (aspect kept; above the cover's width it is enlarged),
            `quality` (0-100, default 95)."""
            return await _image(service, blobs, settings, job_id, format, width, quality)

        # The rest of what the service's /job/ handler answered, in its words.
        async def no_job_id() -> Response:
            raise NotFound("job id is required")

        async def job_path(
            job_id: str,
            rest: str,
            request: Request,
            service: ServiceDep,
            blobs: BlobsDep,
            settings: SettingsDep,
        ) -> Response:
            # /job/{id}/ is the job and /job/{id}/image/ its image, as there; else 404
            part = rest.strip("/")
            if not part:
                job = await run_in_threadpool(own_job, service, job_id, NAME, NOT_FOUND)
                out = await run_in_threadpool(self._job_out, service, job)
                return JSONResponse(out.model_dump(mode="json", exclude_none=True))
            if part == "image":
                q = request.query_params
                return await _image(
                    service,
                    blobs,
                    settings,
                    job_id,
                    q.get("format", ""),
                    q.get("width", ""),
                    q.get("quality", ""),
                )
            raise NotFound("not found")

        for path in ("/job", "/job/"):
            router.add_api_route(path, no_job_id, methods=["GET"], include_in_schema=False)
        router.add_api_route(
            "/job/{job_id}/{rest:path}", job_path, methods=["GET"], include_in_schema=False
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


# -- the image route ------------------------------------------------------------------------


async def _image(
    service: JobService,
    blobs: BlobStore,
    settings: Settings,
    job_id: str,
    format: str,
    width: str,
    quality: str,
) -> Response:
    """GET /job/{id}/image, checked in the service's order: the job, its state, the stored
    cover, then the query."""
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
    if size == output["width"]:
        size = None  # the service re-encoded it at that width, without a resize
    stored_quality = job.spec["outputs"][0].get("quality") or DEFAULT_QUALITY
    as_stored = target == JPEG and size is None and q == stored_quality
    try:
        if size is not None:
            data = await _resized(blobs, settings, job, output, target, size, max(1, q))
            served = target
        else:
            data, served = await output_bytes(
                blobs,
                settings,
                job,
                output,
                None if as_stored else target,
                None,
                None if as_stored else max(1, q),
            )
    except NotFound as exc:
        raise NotFound("output image was deleted or not found") from exc
    except ServiceError as exc:
        if exc.code not in IMAGE_ERROR_STATUS:
            raise
        raise ServiceError(f"image convert failed: {exc.message}", status_code=500) from exc
    return Response(data, media_type=media_type(served), headers={"Cache-Control": "no-store"})


async def _resized(
    blobs: BlobStore,
    settings: Settings,
    job: Job,
    output: dict[str, Any],
    target: str,
    width: int,
    quality: int,
) -> bytes:
    """The cover resized to ``width``, smaller or larger, its height rounded as the
    service's converter rounded it (Lanczos either way); the service's enlarged, where
    darkroom's own ?width= never does."""
    stored_w, stored_h = int(output["width"]), int(output["height"])
    limit = settings.max_output_dimension
    widest = min(limit, limit * stored_w // stored_h)  # neither side above the limit
    if width > widest:
        raise BadRequest(f"width must be at most {widest}")
    height = max(1, round(stored_h * width / stored_w))
    try:
        return await resized_output(blobs, settings, job, output, target, width, height, quality)
    except NotFound as exc:
        raise NotFound("output image was deleted or not found") from exc
    except ServiceError as exc:
        raise ServiceError(f"image convert failed: {exc.message}", status_code=500) from exc


def _query_int(text: str, not_a_number: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError as exc:
        raise BadRequest(not_a_number) from exc


def _image_options(format: str, width: str, quality: str) -> tuple[str, int | None, int]:
    """The image route's query, read as the service read it."""
    fmt = format.strip().lower()
    if fmt in ("", "jpg", "jpeg"):
        target = JPEG
    elif fmt == "avif":
        target = "avif"
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
