"""Seed 001 (../shared/seeds/001_*.txt): image jobs with a Redis task queue and R2.

The image_jobs resource under ``/api/image-jobs`` with that system's model and its
``{success, data}`` envelopes; POST stores the raw image as ``raw/<ms>-<hex>.<ext>`` in
the bucket, creates the record and pushes the task onto ``task_queue``, as the system's
backend did. darkroom's consumer (darkroom.dialects.imagejobs_worker) takes the
process_image tasks and submits a darkroom job for each, either for these records or,
with IMAGE_JOBS_BACKEND_URL, for the system's own backend; the job's ``imagejobs``
effect records its outcome. Errors answer ``{"success": false, "message": …}``.
"""

from __future__ import annotations

import os
import posixpath
import re
import secrets
import socket
import statistics
import threading
import time
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from darkroom.api.body_limit import accept_upload
from darkroom.api.deps import ServiceDep, SettingsDep
from darkroom.blobs import BlobNotFound, BlobStore, S3BlobStore, open_blobs
from darkroom.config import Settings
from darkroom.dialects.base import (
    BadRequest,
    DialectDefaults,
    JsonText,
    MountedRouter,
    SeedVariables,
    StoredText,
    enabled_dialect,
    error_responses,
    message_errors,
    multipart_body,
    route_class,
)
from darkroom.dialects.imagejobs_backend import Backend, HttpBackend, LocalBackend
from darkroom.dialects.imagejobs_records import (
    COMPLETED,
    ENTITY_TYPES,
    FAILED,
    PENDING,
    PROCESSING,
    STATUSES,
    ImageJob,
    ImageJobRecords,
    js_time,
    new_id,
)
from darkroom.dialects.imagejobs_schema import SCHEMA
from darkroom.dialects.imagejobs_worker import (
    EFFECT,
    OutcomeRecorder,
    OutputSettings,
    TaskSubmitter,
)
from darkroom.dialects.task_queue import TaskQueue, message
from darkroom.jobs.effects import EffectHandler
from darkroom.jobs.errors import NotFound, ServiceError
from darkroom.outbound import outbound_client
from darkroom.queue.redis_streams import REDIS_CONNECT_TIMEOUT_S, REDIS_TIMEOUT_S
from darkroom.service import JobService
from darkroom.store.migrate import Schema

NAME = "imagejobs"
OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
FILES_PATH = "/api/image-jobs/files"  # where raw and optimized images are served without R2


class Variables(SeedVariables):
    redis_uri: str | None = Field(None, alias="REDIS_URI")
    r2_endpoint: str | None = Field(None, alias="R2_ENDPOINT")
    r2_access_key_id: str | None = Field(None, alias="R2_ACCESS_KEY_ID")
    r2_secret_access_key: str | None = Field(None, alias="R2_SECRET_ACCESS_KEY")
    r2_bucket: str | None = Field(None, alias="R2_BUCKET")
    r2_public_url: str | None = Field(None, alias="R2_PUBLIC_URL")
    r2_region: str = Field("auto", alias="R2_REGION")
    queue: str = Field("task_queue", alias="IMAGE_JOBS_QUEUE")
    worker_token: str | None = Field(None, alias="IMAGE_JOBS_WORKER_TOKEN")
    backend_url: str | None = Field(None, alias="IMAGE_JOBS_BACKEND_URL")
    backend_token: str | None = Field(None, alias="IMAGE_JOBS_BACKEND_TOKEN")
    backend_cookie: str = Field("accessToken", alias="IMAGE_JOBS_BACKEND_COOKIE")
    width: int = Field(800, alias="IMAGE_JOBS_WIDTH", ge=16, le=8192)
    quality: int = Field(80, alias="IMAGE_JOBS_QUALITY", ge=1, le=100)
    lease_s: float = Field(30.0, alias="IMAGE_JOBS_LEASE_S", gt=0, le=600)


def _nul_as_replacement(text: str) -> str:
    """A message as MongoDB kept it, but for a NUL, which PostgreSQL refuses: U+FFFD."""
    return text.replace("\x00", "\ufffd")


class StatusIn(BaseModel):
    """A lone surrogate (JSON's "\\ud800") is U+FFFD, as the system's MongoDB driver
    wrote it in UTF-8; a NUL in ``errorMsg`` is U+FFFD too (a worker's message is kept),
    in the URL or key 400 (no object is named so)."""

    status: str = Field("", description="PENDING, PROCESSING, COMPLETED or FAILED (any case)")
    outputImageURL: StoredText | None = None
    outputImageKey: StoredText | None = None
    errorMsg: Annotated[JsonText, AfterValidator(_nul_as_replacement)] | None = None


class Envelope(BaseModel):
    success: bool = True
    data: Any = None
    message: str | None = None


class ErrorOut(BaseModel):
    """What an error answers (``_error_body``)."""

    success: bool = False
    message: str
    timestamp: str
    status: int
    error: str


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(ErrorOut, *statuses)


# A record's id as the routes take it (else 400 "Invalid ID format", as the system did).
JobId = Annotated[str, Path(), WithJsonSchema({"type": "string", "pattern": "^[0-9a-fA-F]{24}$"})]
CREATE_BODY = multipart_body(
    {
        "file": {"type": "string", "format": "binary"},
        "entityType": {"type": "string", "enum": list(ENTITY_TYPES)},
        "entityId": {"type": "string", "minLength": 1},
    },
    ["file", "entityType", "entityId"],
)


def _error_body(message: str, status: int) -> dict[str, Any]:
    """The envelope's ``{success: false, message}`` (the document's), with the fields the
    system's error handler wrote beside them."""
    return {
        "success": False,
        "message": message,
        "timestamp": js_time(time.time()),
        "status": status,
        "error": "Internal Server Error" if status >= 500 else "Bad Request",
    }


_respond = message_errors(_error_body)


def _ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data}, status)


class ImageJobs(DialectDefaults):
    name = NAME
    seed = "001"
    schema: Schema | None = SCHEMA

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.variables: Variables = Variables.read(environ)
        self._lock = threading.Lock()
        self._redis: Any = None
        self._store: BlobStore | None = None

    # -- what the routes and the consumer share ---------------------------------------------

    def redis(self, settings: Settings) -> Any:
        with self._lock:
            if self._redis is None:
                url = self.variables.redis_uri or settings.broker_url
                if not url:
                    raise RuntimeError("the imagejobs dialect needs REDIS_URI (its task queue)")
                import redis

                self._redis = redis.Redis.from_url(
                    url,
                    decode_responses=True,
                    socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
                    socket_timeout=REDIS_TIMEOUT_S,
                )
            return self._redis

    def store(self, settings: Settings) -> BlobStore:
        """The bucket (R2_*), or darkroom's own store when no R2_BUCKET is set."""
        with self._lock:
            if self._store is None:
                v = self.variables
                if v.r2_bucket:
                    self._store = S3BlobStore(v.r2_bucket, client=self._r2_client())
                else:
                    self._store = open_blobs(
                        settings.resolved_storage_url(), **settings.blob_options()
                    )
            return self._store

    def _r2_client(self) -> Any:
        import boto3
        from botocore.config import Config

        v = self.variables
        return boto3.client(
            "s3",
            endpoint_url=v.r2_endpoint,
            aws_access_key_id=v.r2_access_key_id,
            aws_secret_access_key=v.r2_secret_access_key,
            region_name=v.r2_region,
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
        )

    def public_url(self, settings: Settings) -> str:
        return (self.variables.r2_public_url or settings.link_base() + FILES_PATH).rstrip("/")

    def queue(self, settings: Settings, consumer: str = "api") -> TaskQueue:
        return TaskQueue(
            self.redis(settings), self.variables.queue, consumer, self.variables.lease_s
        )

    def backend(self, service: JobService) -> Backend:
        """Where the image job records are: darkroom's database, or the system's backend."""
        v = self.variables
        settings = service.settings
        if v.backend_url:
            return HttpBackend(
                v.backend_url,
                outbound_client(),
                worker_token=v.worker_token,
                access_token=v.backend_token,
                cookie_name=v.backend_cookie,
                timeout_s=settings.webhook_timeout_s,
            )
        return LocalBackend(ImageJobRecords(service.store.engine), self.store(settings))

    def background(self, service: JobService) -> list[TaskSubmitter]:
        """The consumer of the task queue: it submits a job per process_image task."""
        v = self.variables
        consumer = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        return [
            TaskSubmitter(
                self.queue(service.settings, consumer),
                self.backend(service),
                service,
                OutputSettings(width=v.width, quality=v.quality),
                poll_s=min(0.25, v.lease_s / 3),
            )
        ]

    def effects(self, service: JobService) -> dict[str, EffectHandler]:
        """The image job's record of its darkroom job's outcome."""
        return {
            EFFECT: OutcomeRecorder(
                self.backend(service),
                service.blobs,
                self.store(service.settings),
                self.public_url(service.settings),
            )
        }

    def routers(self, prefix: str) -> list[MountedRouter]:
        return [MountedRouter(router, prefix)]


# -- the routes ----------------------------------------------------------------------------


async def _imagejobs(request: Request) -> ImageJobs:
    return enabled_dialect(request, NAME, ImageJobs)


ImageJobsDep = Annotated[ImageJobs, Depends(_imagejobs)]

router = APIRouter(
    prefix="/api/image-jobs",
    tags=["drop-in: imagejobs (seed 001)"],
    route_class=route_class(_respond),
)


def _records(service: JobService) -> ImageJobRecords:
    return ImageJobRecords(service.store.engine)


def _found(service: JobService, job_id: str) -> ImageJob:
    if not OBJECT_ID.fullmatch(job_id):
        raise BadRequest("Invalid ID format")  # as MongoDB's cast error answered
    job = _records(service).get(job_id)
    if job is None:
        raise NotFound("Image job not found")
    return job


@router.post(
    "",
    status_code=201,
    response_model=Envelope,
    responses=_errors(400, 413),
    openapi_extra=CREATE_BODY,
)
async def create(
    request: Request, imagejobs: ImageJobsDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    """Multipart `file`, `entityType` (event, report or other) and `entityId`:
    stores the raw image, creates the image job and queues its task."""
    accept_upload(request, None)  # the file is spooled; read below up to the upload limit
    form = await request.form()
    upload = form.get("file")
    entity_type = str(form.get("entityType") or "").strip()
    entity_id = str(form.get("entityId") or "").strip()
    if not isinstance(upload, UploadFile):
        raise BadRequest("file is required")
    if entity_type not in ENTITY_TYPES:
        raise BadRequest(f"entityType must be one of {', '.join(ENTITY_TYPES)}")
    if not entity_id:
        raise BadRequest("entityId is required")
    if "\x00" in entity_id:  # PostgreSQL refuses it (multipart text has no surrogates)
        raise BadRequest("entityId must not contain a NUL character")
    data = await upload.read(settings.max_upload_bytes + 1)  # never more than one over
    if len(data) > settings.max_upload_bytes:
        raise ServiceError(f"file larger than {settings.max_upload_bytes} bytes", status_code=413)
    # shown, not looked up: a NUL (PostgreSQL refuses it) as U+FFFD
    filename = _nul_as_replacement(upload.filename or "image")
    content_type = _nul_as_replacement(upload.content_type) if upload.content_type else None

    def save() -> ImageJob:
        try:
            facts = service.inspect(data)
        except ServiceError as exc:
            raise BadRequest(f"file is not an image darkroom can read: {exc}") from exc
        ext = posixpath.splitext(filename)[1].lower().lstrip(".") or facts.format
        key = f"raw/{int(time.time() * 1000)}-{secrets.token_hex(6)}.{ext[:12]}"
        now = time.time()
        job = ImageJob(
            id=new_id(),
            entity_type=entity_type,
            entity_id=entity_id,
            source_key=key,
            source_url=f"{imagejobs.public_url(settings)}/{key}",
            status=PENDING,
            original_filename=filename,
            mimetype=content_type or f"image/{facts.format}",
            file_size=len(data),
            created_at=now,
            updated_at=now,
        )
        imagejobs.store(settings).put(key, data)
        _records(service).insert(job)
        imagejobs.queue(settings).push(message(job.id))
        return job

    job = await run_in_threadpool(save)  # header probing and storage off the loop
    return _ok(job.to_api(), 201)


@router.get("", response_model=Envelope, responses=_errors(400))
def by_entity(
    service: ServiceDep, entityType: str | None = None, entityId: str | None = None
) -> Response:
    """Image jobs of an entity, newest first; both parameters are required."""
    if not entityType or not entityId:
        raise BadRequest("entityType and entityId are required")
    if "\x00" in entityType + entityId:
        return _ok([])  # none is stored (create refuses it), and PostgreSQL refuses the query
    jobs = _records(service).by_entity(entityType, entityId)
    return _ok([job.to_api() for job in jobs])


@router.get("/stats", response_model=Envelope)
def stats(imagejobs: ImageJobsDep, service: ServiceDep, settings: SettingsDep) -> Response:
    """What the document says to monitor: the queue's length, PENDING and FAILED
    counts, and processing duration (processedAt - createdAt)."""
    counts = _records(service).counts()
    durations = _records(service).durations()
    queue = imagejobs.queue(settings)
    return _ok(
        {
            "queueLength": queue.length(),
            "deadLetterLength": queue.dead_count(),
            "pending": counts[PENDING],
            "processing": counts[PROCESSING],
            "completed": counts[COMPLETED],
            "failed": counts[FAILED],
            "processingDuration": _summary(durations),
        }
    )


@router.get(
    FILES_PATH.removeprefix("/api/image-jobs") + "/{key:path}",
    response_class=Response,
    responses={
        200: {"content": {"image/webp": {}, "application/octet-stream": {}}},
        **_errors(404),
    },
)
def file(key: str, imagejobs: ImageJobsDep, settings: SettingsDep) -> Response:
    """A raw or optimized image, where no R2_PUBLIC_URL serves the bucket."""
    if not key.startswith(("raw/", "optimized/")):
        raise NotFound("Not found")
    try:
        data = imagejobs.store(settings).get(key)
    except (BlobNotFound, ValueError) as exc:
        raise NotFound("Not found") from exc
    kind = "image/webp" if key.endswith(".webp") else "application/octet-stream"
    return Response(data, media_type=kind)


@router.get("/{job_id}", response_model=Envelope, responses=_errors(400, 404))
def get_one(job_id: JobId, service: ServiceDep) -> Response:
    return _ok(_found(service, job_id).to_api())


@router.post("/{job_id}/retry", response_model=Envelope, responses=_errors(400, 404))
def retry(
    job_id: JobId, imagejobs: ImageJobsDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    """A FAILED job back to PENDING, error cleared, task queued again."""
    job = _found(service, job_id)
    if job.status != FAILED:
        raise BadRequest("Can only retry failed jobs")
    updated = _records(service).update(job_id, status=PENDING, error_msg="", processed_at=None)
    imagejobs.queue(settings).push(message(job_id))
    assert updated is not None
    return _ok(updated.to_api())


@router.delete("/{job_id}", response_model=Envelope, responses=_errors(400, 404))
def remove(
    job_id: JobId, imagejobs: ImageJobsDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    """Deletes the raw and optimized images, then the record."""
    job = _found(service, job_id)
    store = imagejobs.store(settings)
    for key in (job.source_key, job.output_key):
        if key:
            store.delete_prefix(key)
    _records(service).delete(job_id)
    return JSONResponse({"success": True, "message": "Image job deleted successfully"})


@router.patch("/{job_id}/status", response_model=Envelope, responses=_errors(400, 401, 404))
def set_status(
    job_id: JobId,
    body: StatusIn,
    imagejobs: ImageJobsDep,
    service: ServiceDep,
    x_worker_token: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """The worker's callback. With IMAGE_JOBS_WORKER_TOKEN set, it needs that
    token in `X-Worker-Token` (or `Authorization: Bearer`)."""
    worker_token = imagejobs.variables.worker_token
    if worker_token and worker_token not in (
        x_worker_token,
        (authorization or "").removeprefix("Bearer ").strip(),
    ):
        raise ServiceError("Invalid worker token", status_code=401)
    status = body.status.strip().upper()
    if not status:
        raise BadRequest("status is required")
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    _found(service, job_id)
    values: dict[str, Any] = {"status": status}
    if body.outputImageURL is not None:
        values["output_url"] = body.outputImageURL
    if body.outputImageKey is not None:
        values["output_key"] = body.outputImageKey
    if body.errorMsg is not None:
        values["error_msg"] = body.errorMsg
    values["processed_at"] = time.time() if status in (COMPLETED, FAILED) else None
    updated = _records(service).update(job_id, **values)
    if updated is None:
        raise NotFound("Image job not found")
    return _ok(updated.to_api())


def _summary(durations: list[float]) -> dict[str, Any]:
    if not durations:
        return {"count": 0, "averageSeconds": None, "p95Seconds": None}
    ordered = sorted(durations)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "count": len(ordered),
        "averageSeconds": round(statistics.fmean(ordered), 3),
        "p95Seconds": round(p95, 3),
    }
