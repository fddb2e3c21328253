"""Seed 001 (../shared/seeds/001_*.txt): image jobs with a Redis task queue and R2.

The image_jobs resource under ``/api/image-jobs`` with that system's model and its
``{success, data}`` envelopes; POST stores the raw image as ``raw/<ms>-<hex>.<ext>`` in
the bucket, creates the record and pushes the task onto ``task_queue``, as the system's
backend did. darkroom's consumer (darkroom.dialects.imagejobs_worker) takes the tasks,
either for these records or, with IMAGE_JOBS_BACKEND_URL, for the system's own backend.
Errors answer ``{"success": false, "message": …}``.
"""

from __future__ import annotations

import os
import posixpath
import secrets
import socket
import statistics
import threading
import time
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from darkroom import imaging
from darkroom.api.deps import ServiceDep, SettingsDep
from darkroom.blobs import BlobNotFound, BlobStore, S3BlobStore, open_blobs
from darkroom.config import Settings
from darkroom.dialects.base import (
    BadRequest,
    DialectDefaults,
    SeedVariables,
    message_errors,
    route_class,
)
from darkroom.dialects.imagejobs_records import (
    COMPLETED,
    ENTITY_TYPES,
    FAILED,
    PENDING,
    PROCESSING,
    STATUSES,
    ImageJob,
    ImageJobRecords,
    new_id,
)
from darkroom.dialects.imagejobs_worker import HttpBackend, ImageJobsConsumer, LocalBackend
from darkroom.dialects.task_queue import TaskQueue, message
from darkroom.imaging.formats import default_output
from darkroom.jobs.errors import NotFound, ServiceError
from darkroom.outbound import AllowList, OutboundGuard, outbound_client

NAME = "imagejobs"
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
    max_size: int = Field(2048, alias="IMAGE_JOBS_MAX_SIZE", ge=16, le=16384)
    lease_s: float = Field(30.0, alias="IMAGE_JOBS_LEASE_S", gt=0, le=600)


class StatusIn(BaseModel):
    status: str = Field(description="PENDING, PROCESSING, COMPLETED or FAILED (any case)")
    outputImageURL: str | None = None
    outputImageKey: str | None = None
    errorMsg: str | None = None


class Envelope(BaseModel):
    success: bool = True
    data: Any = None
    message: str | None = None


_respond = message_errors(lambda message: {"success": False, "message": message})


def _ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data}, status)


class ImageJobs(DialectDefaults):
    name = NAME
    seed = "001"

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

                self._redis = redis.Redis.from_url(url, decode_responses=True)
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

    def background(self, settings: Settings, engine: Engine) -> list[ImageJobsConsumer]:
        """The consumer of the task queue, for processes that run workers."""
        v = self.variables
        consumer = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        store = self.store(settings)
        backend: Any
        if v.backend_url:
            backend = HttpBackend(
                v.backend_url,
                outbound_client(),
                OutboundGuard(AllowList.parse(settings.outbound_allow)),
                token=v.worker_token,
                max_bytes=settings.max_upload_bytes,
                timeout_s=settings.download_timeout_s,
            )
        else:
            backend = LocalBackend(ImageJobRecords(engine), store)
        return [
            ImageJobsConsumer(
                self.queue(settings, consumer),
                backend,
                store,
                self.public_url(settings),
                settings.image_limits(),
                max_size=v.max_size,
                poll_s=min(1.0, v.lease_s / 3),
            )
        ]

    # -- the routes ----------------------------------------------------------------------------

    def router(self, prefix: str) -> APIRouter:
        v = self.variables
        router = APIRouter(
            prefix=prefix + "/api/image-jobs",
            tags=["drop-in: imagejobs (seed 001)"],
            route_class=route_class(_respond),
        )

        def records(service: Any) -> ImageJobRecords:
            return ImageJobRecords(service.store.engine)

        def found(service: Any, job_id: str) -> ImageJob:
            job = records(service).get(job_id)
            if job is None:
                raise NotFound("Image job not found")
            return job

        @router.post("", status_code=201, response_model=Envelope)
        async def create(request: Request, service: ServiceDep, settings: SettingsDep) -> Response:
            """Multipart `file`, `entityType` (event, report or other) and `entityId`:
            stores the raw image, creates the image job and queues its task."""
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
            data = await upload.read()
            if len(data) > settings.max_upload_bytes:
                raise ServiceError(
                    f"file larger than {settings.max_upload_bytes} bytes", status_code=413
                )
            filename = upload.filename or "image"
            content_type = upload.content_type

            def save() -> ImageJob:
                try:
                    facts = imaging.probe(data, settings.image_limits())
                except imaging.ImageError as exc:
                    raise BadRequest(f"file is not an image darkroom can read: {exc}") from exc
                ext = posixpath.splitext(filename)[1].lower().lstrip(".") or facts.format
                key = f"raw/{int(time.time() * 1000)}-{secrets.token_hex(6)}.{ext[:12]}"
                now = time.time()
                job = ImageJob(
                    id=new_id(),
                    entity_type=entity_type,
                    entity_id=entity_id,
                    source_key=key,
                    source_url=f"{self.public_url(settings)}/{key}",
                    status=PENDING,
                    original_filename=filename,
                    mimetype=content_type or imaging.media_type(default_output(facts.format)),
                    file_size=len(data),
                    created_at=now,
                    updated_at=now,
                )
                self.store(settings).put(key, data)
                records(service).insert(job)
                self.queue(settings).push(message(job.id))
                return job

            job = await run_in_threadpool(save)  # header probing and storage off the loop
            return _ok(job.to_api(), 201)

        @router.get("", response_model=Envelope)
        def by_entity(
            service: ServiceDep, entityType: str | None = None, entityId: str | None = None
        ) -> Response:
            """Image jobs of an entity, newest first."""
            jobs = records(service).by_entity(entityType, entityId)
            return _ok([job.to_api() for job in jobs])

        @router.get("/stats", response_model=Envelope)
        def stats(service: ServiceDep, settings: SettingsDep) -> Response:
            """What the document says to monitor: the queue's length, PENDING and FAILED
            counts, and processing duration (processedAt - createdAt)."""
            counts = records(service).counts()
            durations = records(service).durations()
            queue = self.queue(settings)
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

        @router.get(FILES_PATH.removeprefix("/api/image-jobs") + "/{key:path}")
        def file(key: str, settings: SettingsDep) -> Response:
            """A raw or optimized image, where no R2_PUBLIC_URL serves the bucket."""
            if not key.startswith(("raw/", "optimized/")):
                raise NotFound("Not found")
            try:
                data = self.store(settings).get(key)
            except (BlobNotFound, ValueError) as exc:
                raise NotFound("Not found") from exc
            kind = "image/webp" if key.endswith(".webp") else "application/octet-stream"
            return Response(data, media_type=kind)

        @router.get("/{job_id}", response_model=Envelope)
        def get_one(job_id: str, service: ServiceDep) -> Response:
            return _ok(found(service, job_id).to_api())

        @router.post("/{job_id}/retry", response_model=Envelope)
        def retry(job_id: str, service: ServiceDep, settings: SettingsDep) -> Response:
            """Back to PENDING, error cleared, task queued again."""
            job = found(service, job_id)
            if job.status in (PROCESSING, COMPLETED):
                raise BadRequest(f"Image job is {job.status}; only failed or pending jobs retry")
            updated = records(service).update(
                job_id, status=PENDING, error_msg="", processed_at=None
            )
            self.queue(settings).push(message(job_id))
            assert updated is not None
            return _ok(updated.to_api())

        @router.delete("/{job_id}", response_model=Envelope)
        def remove(job_id: str, service: ServiceDep, settings: SettingsDep) -> Response:
            """Deletes the raw and optimized images, then the record."""
            job = found(service, job_id)
            store = self.store(settings)
            for key in (job.source_key, job.output_key):
                if key:
                    store.delete_prefix(key)
            records(service).delete(job_id)
            return JSONResponse({"success": True, "message": "Image job deleted"})

        @router.patch("/{job_id}/status", response_model=Envelope)
        def set_status(
            job_id: str,
            body: StatusIn,
            service: ServiceDep,
            x_worker_token: Annotated[str | None, Header()] = None,
            authorization: Annotated[str | None, Header()] = None,
        ) -> Response:
            """The worker's callback. With IMAGE_JOBS_WORKER_TOKEN set, it needs that
            token in `X-Worker-Token` (or `Authorization: Bearer`)."""
            if v.worker_token and v.worker_token not in (
                x_worker_token,
                (authorization or "").removeprefix("Bearer ").strip(),
            ):
                raise ServiceError("Invalid worker token", status_code=401)
            status = body.status.strip().upper()
            if status not in STATUSES:
                raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
            found(service, job_id)
            values: dict[str, Any] = {"status": status}
            if body.outputImageURL is not None:
                values["output_url"] = body.outputImageURL
            if body.outputImageKey is not None:
                values["output_key"] = body.outputImageKey
            if body.errorMsg is not None:
                values["error_msg"] = body.errorMsg
            values["processed_at"] = time.time() if status in (COMPLETED, FAILED) else None
            updated = records(service).update(job_id, **values)
            if updated is None:
                raise NotFound("Image job not found")
            return _ok(updated.to_api())

        return router


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
