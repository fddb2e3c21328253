"""Seed 002 (../shared/seeds/002_*.txt): GreenVue's listing images.

``POST /api/upload/listing_image`` answers at once with each image's final public URL
(``<slug>-<id8>.webp``) and ``status: pending``; a batch processor, run every ``interval``
by one darkroom process at a time, takes up to ``batch_size`` waiting images, makes each
a WebP at most 640 px high and stores it under that name, recording failures in
``Error`` and ``Retries`` (``retry`` until MaxRetries, then ``failed``). The jobs API
stops, shows and restarts the processor; debug endpoints exist outside production.
Waiting images and the processor's settings are rows in darkroom's database, so they
survive restarts.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from darkroom import imaging
from darkroom.api.deps import ServiceDep, SettingsDep
from darkroom.blobs import BlobNotFound, BlobStore, open_blobs
from darkroom.config import Settings
from darkroom.dialects.base import (
    BadRequest,
    DialectDefaults,
    SeedVariables,
    message_errors,
    rfc3339,
    route_class,
)
from darkroom.dialects.greenvue_records import (
    PENDING,
    PROCESS_IMAGES,
    QUEUE_JOB,
    ListingImage,
    ListingImages,
    ScheduledJob,
    ScheduledJobs,
)
from darkroom.jobs.errors import NotFound, ServiceError
from darkroom.jobs.sources import resolve_input_path

log = logging.getLogger("darkroom.dialects.greenvue")

NAME = "greenvue"
IMAGES_PATH = "/listing-images"  # where darkroom serves them without GREENVUE_PUBLIC_URL
PENDING_PREFIX = "greenvue/pending/"
WEBP_QUALITY = 80
LEASE_S = 300.0  # an image being processed longer than this is taken up again
UPLOAD_FIELDS = ("images", "image", "files", "file")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration ("10s", "1m30s", "500ms") in seconds."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration like 10s or 1m30s: {text!r}")
    seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if seconds < 0.1:
        raise ValueError("an interval must be at least 100ms")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds < 1 or seconds != int(seconds):
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")


def slug(title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return words[:60].strip("-") or "listing"


class Variables(SeedVariables):
    app_env: str = Field("development", alias="APP_ENV")
    storage_url: str | None = Field(None, alias="GREENVUE_STORAGE_URL")
    public_url: str | None = Field(None, alias="GREENVUE_PUBLIC_URL")
    interval: str = Field("10s", alias="GREENVUE_IMAGE_INTERVAL")
    batch_size: int = Field(10, alias="GREENVUE_IMAGE_BATCH_SIZE", ge=1, le=1000)
    max_retries: int = Field(3, alias="GREENVUE_IMAGE_MAX_RETRIES", ge=1, le=100)
    max_height: int = Field(640, alias="GREENVUE_IMAGE_MAX_HEIGHT", ge=16, le=8192)
    debug_root: Path | None = Field(None, alias="GREENVUE_DEBUG_IMAGE_ROOT")

    @field_validator("interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def production(self) -> bool:
        return self.app_env.strip().lower() in ("production", "prod")


class JobIn(BaseModel):
    id: str
    name: str = "Process Image Queue"
    description: str = "Process pending images in queue"
    type: Literal["process_images"]
    interval: str = "10s"
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class DebugUploadIn(BaseModel):
    listing_title: str = Field(min_length=1)
    image_path: str = Field(min_length=1)
    process_now: bool = False


_respond = message_errors(lambda message: {"status": "error", "message": message})


def _success(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status)


class ImageWork:
    """What the processor and the debug endpoint share: the stores and one image's
    processing."""

    def __init__(self, variables: Variables, settings: Settings, engine: Engine) -> None:
        self.variables = variables
        self.settings = settings
        self.images = ListingImages(engine)
        self.jobs = ScheduledJobs(engine)
        self.pending = open_blobs(settings.resolved_storage_url(), **settings.blob_options())
        self.listing = listing_store(variables, settings)

    def default_job(self) -> ScheduledJob:
        now = time.time()
        return ScheduledJob(
            id=QUEUE_JOB,
            name="Process Image Queue",
            description="Process pending images in queue",
            type=PROCESS_IMAGES,
            interval_s=parse_duration(self.variables.interval),
            payload={"batch_size": self.variables.batch_size},
            active=True,
            created_at=now,
            updated_at=now,
            last_run_at=None,
        )

    def run_batch(self, batch_size: int) -> int:
        batch = self.images.claim(batch_size, LEASE_S)
        for image in batch:
            self.process(image)
        return len(batch)

    def process(self, image: ListingImage) -> str:
        """Make and store the image's WebP; the status it ends in."""
        try:
            data = self.pending.get(image.source_key)
            spec = imaging.RenderSpec(
                imaging.Operation.THUMBNAIL,
                height=self.variables.max_height,
                format=imaging.OutputFormat.WEBP,
                quality=WEBP_QUALITY,
            )
            [webp] = imaging.render(data, [spec], self.settings.image_limits())
            self.listing.put(image.file_name, webp.data)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            status = self.images.failed(image, reason, self.variables.max_retries)
            log.warning(
                f"listing image failed ({status}): {reason}",
                extra={"image_id": image.id, "retries": image.retries + 1},
            )
            return status
        self.images.processed(image.id)
        self.pending.delete_prefix(image.source_key)
        return "processed"


def listing_store(variables: Variables, settings: Settings) -> BlobStore:
    """The listing images bucket: GREENVUE_STORAGE_URL (a folder, or s3://bucket/prefix
    for Supabase Storage and other S3-compatible stores), else a folder in the data dir."""
    url = variables.storage_url or str((settings.data_dir / "listing-images").resolve())
    return open_blobs(url, **settings.blob_options())


class BatchProcessor:
    """Every interval, in one darkroom process at a time, a batch of waiting images."""

    def __init__(self, work: ImageWork, tick_s: float = 0.25) -> None:
        self.work = work
        self.tick_s = tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.work.jobs.ensure(self.work.default_job())
        self._thread = threading.Thread(target=self._run, name="greenvue-images", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                job = self.work.jobs.take_turn(QUEUE_JOB)
                if job is not None:
                    size = int(job.payload.get("batch_size") or self.work.variables.batch_size)
                    done = self.work.run_batch(size)
                    if done:
                        log.info("listing images processed", extra={"batch": done})
            except Exception:
                log.exception("the listing image batch failed; trying at the next interval")


def _job_view(job: ScheduledJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "description": job.description,
        "type": job.type,
        "interval": format_duration(job.interval_s),
        "payload": job.payload,
        "status": "active" if job.active else "stopped",
        "last_run_at": rfc3339(job.last_run_at),
        "next_run_at": rfc3339((job.last_run_at or time.time()) + job.interval_s)
        if job.active
        else None,
    }


class GreenVue(DialectDefaults):
    name = NAME
    seed = "002"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.variables: Variables = Variables.read(environ)
        self._work: ImageWork | None = None
        self._lock = threading.Lock()

    def background(self, settings: Settings, engine: Engine) -> list[BatchProcessor]:
        return [BatchProcessor(ImageWork(self.variables, settings, engine))]

    def work(self, settings: Settings, engine: Engine) -> ImageWork:
        with self._lock:
            if self._work is None:
                self._work = ImageWork(self.variables, settings, engine)
                self._work.jobs.ensure(self._work.default_job())
            return self._work

    def public_url(self, settings: Settings, file_name: str) -> str:
        base = self.variables.public_url or settings.link_base() + IMAGES_PATH
        return f"{base.rstrip('/')}/{file_name}"

    def router(self, prefix: str) -> APIRouter:
        v = self.variables
        router = APIRouter(
            prefix=prefix, tags=["drop-in: greenvue (seed 002)"], route_class=route_class(_respond)
        )

        def queue(work: ImageWork, settings: Settings, title: str, data: bytes) -> dict[str, str]:
            try:
                imaging.probe(data, settings.image_limits())
            except imaging.ImageError as exc:
                raise BadRequest(f"not an image darkroom can read: {exc}") from exc
            image_id = str(uuid.uuid4())
            file_name = f"{slug(title)}-{image_id[:8]}.webp"
            key = PENDING_PREFIX + image_id
            work.pending.put(key, data)
            now = time.time()
            work.images.add(
                ListingImage(
                    id=image_id,
                    listing_title=title,
                    file_name=file_name,
                    source_key=key,
                    status=PENDING,
                    retries=0,
                    error="",
                    created_at=now,
                    updated_at=now,
                    processed_at=None,
                    lease_expires_at=None,
                )
            )
            return {
                "id": image_id,
                "url": self.public_url(settings, file_name),
                "file_name": file_name,
                "status": PENDING,
            }

        @router.post("/api/upload/listing_image")
        async def upload(request: Request, service: ServiceDep, settings: SettingsDep) -> Response:
            """Multipart: `listing_title` and one or more images (fields `images`, `image`,
            `files` or `file`). Answers at once with each image's final URL."""
            form = await request.form()
            title = str(form.get("listing_title") or "").strip()
            if not title:
                raise BadRequest("listing_title is required")
            uploads = [
                part
                for name in UPLOAD_FIELDS
                for part in form.getlist(name)
                if isinstance(part, UploadFile)
            ]
            if not uploads:
                raise BadRequest("at least one image is required (field 'images')")
            files = []
            for part in uploads:
                data = await part.read()
                if len(data) > settings.max_upload_bytes:
                    raise ServiceError(
                        f"{part.filename} is larger than {settings.max_upload_bytes} bytes",
                        status_code=413,
                    )
                files.append(data)
            work = self.work(settings, service.store.engine)

            def queue_all() -> list[dict[str, str]]:
                return [queue(work, settings, title, data) for data in files]

            images = await run_in_threadpool(queue_all)
            return _success(
                {
                    "message": f"{len(images)} images queued for processing",
                    "image_count": len(images),
                    "images": images,
                    "status": "processing",
                }
            )

        @router.get(IMAGES_PATH + "/{file_name}")
        def image(file_name: str, service: ServiceDep, settings: SettingsDep) -> Response:
            """A processed listing image; 404 until it is processed."""
            try:
                data = self.work(settings, service.store.engine).listing.get(file_name)
            except (BlobNotFound, ValueError) as exc:
                raise NotFound("image not found") from exc
            return Response(data, media_type="image/webp")

        @router.get(f"/api/jobs/{QUEUE_JOB}")
        def job_status(service: ServiceDep, settings: SettingsDep) -> Response:
            """The image queue's processor: interval, batch size, active or not."""
            job = self.work(settings, service.store.engine).jobs.get(QUEUE_JOB)
            if job is None or not job.active:
                raise NotFound(f"job {QUEUE_JOB} not found")
            return _success(_job_view(job))

        @router.delete(f"/api/jobs/{QUEUE_JOB}")
        def stop_job(service: ServiceDep, settings: SettingsDep) -> Response:
            """Stops processing images (they keep waiting) until the job is created again."""
            if not self.work(settings, service.store.engine).jobs.stop(QUEUE_JOB):
                raise NotFound(f"job {QUEUE_JOB} not found")
            return _success({"message": f"job {QUEUE_JOB} deleted"})

        @router.post("/api/jobs", status_code=201)
        def create_job(body: JobIn, service: ServiceDep, settings: SettingsDep) -> Response:
            """Create or restart the image queue's processor."""
            if body.id != QUEUE_JOB:
                raise BadRequest(f"the only job of type {PROCESS_IMAGES} is {QUEUE_JOB!r}")
            batch = body.payload.get("batch_size", v.batch_size)
            if not isinstance(batch, int) or not 1 <= batch <= 1000:
                raise BadRequest("payload.batch_size must be an integer from 1 to 1000")
            now = time.time()
            job = self.work(settings, service.store.engine).jobs.put(
                ScheduledJob(
                    id=QUEUE_JOB,
                    name=body.name,
                    description=body.description,
                    type=body.type,
                    interval_s=parse_duration(body.interval),
                    payload={**body.payload, "batch_size": batch},
                    active=True,
                    created_at=now,
                    updated_at=now,
                    last_run_at=None,
                )
            )
            return _success(_job_view(job), 201)

        if v.production:
            return router

        @router.get("/debug/image-queue-status")
        def queue_status(service: ServiceDep, settings: SettingsDep) -> Response:
            work = self.work(settings, service.store.engine)
            job = work.jobs.get(QUEUE_JOB)
            active = job is not None and job.active
            return JSONResponse(
                {
                    "pending_count": work.images.waiting(),
                    "queue_status": {
                        "initialized": job is not None,
                        "status": "active" if active else "stopped",
                    },
                }
            )

        @router.post("/debug/upload-test-image")
        def upload_test_image(
            body: DebugUploadIn, service: ServiceDep, settings: SettingsDep
        ) -> Response:
            """Queue a file from the server's GREENVUE_DEBUG_IMAGE_ROOT (else
            DARKROOM_INPUT_ROOT); with `process_now`, process it before answering."""
            path = resolve_input_path(v.debug_root or settings.input_root, body.image_path)
            work = self.work(settings, service.store.engine)
            queued = queue(work, settings, body.listing_title, path.read_bytes())
            if body.process_now:
                claimed = work.images.claim(1, LEASE_S, only=queued["id"])
                if claimed:
                    queued["status"] = work.process(claimed[0])
            return _success(queued)

        return router
