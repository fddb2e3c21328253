"""Seed 002 (../shared/seeds/002_*.txt): GreenVue's listing images.

``POST /api/upload/listing_image`` answers at once with each image's final public URL
(``<slug>-<id8>.webp``) and ``status: pending``; a batch processor, run every ``interval``
by one darkroom process at a time, takes up to ``batch_size`` waiting images and submits
a darkroom job for each (a WebP at most 640 px high), rendered by darkroom's workers like
any other. The job's ``greenvue`` effect, run from an outbox row written with its
outcome, stores the WebP under the image's name in the listing bucket and marks it
processed, or records the failure in ``Error`` and ``Retries`` (``retry`` until
MaxRetries, then ``failed``; a ``retry`` image goes into a later batch). The jobs API
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
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from darkroom.api.body_limit import accept_upload
from darkroom.api.deps import ServiceDep
from darkroom.blobs import BlobNotFound, BlobStore, open_blobs
from darkroom.config import Settings
from darkroom.dialects.base import (
    DIALECT_LABEL,
    BadRequest,
    DialectDefaults,
    MountedRouter,
    SeedVariables,
    StoredText,
    enabled_dialect,
    error_responses,
    message_errors,
    multipart_body,
    replace_in_json,
    rfc3339,
    route_class,
)
from darkroom.dialects.greenvue_records import (
    PENDING,
    PROCESS_IMAGES,
    PROCESSING,
    QUEUE_JOB,
    ListingImage,
    ListingImages,
    ScheduledJob,
    ScheduledJobs,
)
from darkroom.dialects.greenvue_schema import SCHEMA
from darkroom.jobs.effects import EffectFailed, EffectHandler
from darkroom.jobs.errors import InsufficientStorage, NotFound, ServiceError
from darkroom.jobs.model import Job
from darkroom.jobs.sources import IncomingSource, resolve_input_path
from darkroom.jobs.spec import JobOptions, OutputIn
from darkroom.jobs.status import JobStatus
from darkroom.periodic import Periodic
from darkroom.service import JobService
from darkroom.store.migrate import Schema

log = logging.getLogger("darkroom.dialects.greenvue")

NAME = "greenvue"
IMAGES_PATH = "/listing-images"  # where darkroom serves them without GREENVUE_PUBLIC_URL
PENDING_PREFIX = "greenvue/pending/"
WEBP_QUALITY = 80
LEASE_S = 300.0  # an image being processed longer than this is taken up again
OUTPUT_NAME = "listing"
IMAGE_LABEL = "listing_image"  # the job's labels: which image, and which try of it
TRY_LABEL = "listing_image_try"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# The longest Go duration (2**63 - 1 ns, about 292 years); the next run stays a date.
MAX_DURATION_S = float((2**63 - 1) // 10**9)


def parse_duration(text: str) -> float:
    """A Go duration ("10s", "1m30s", "500ms") in seconds."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration like 10s or 1m30s: {text!r}")
    seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if seconds < 0.1:
        raise ValueError("an interval must be at least 100ms")
    if seconds > MAX_DURATION_S:  # Go's time.ParseDuration refused these as well
        raise ValueError(f"an interval must be at most {format_duration(MAX_DURATION_S)}")
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
    """A lone surrogate in a string (JSON's "\\ud800") is U+FFFD, as Go's decoder made
    it; a NUL in ``name`` or ``description``, which the system's PostgreSQL refused, is 400."""

    id: str
    name: StoredText = "Process Image Queue"
    description: StoredText = "Process pending images in queue"
    type: Literal["process_images"]
    interval: str = "10s"
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("payload")
    @classmethod
    def _payload(cls, value: dict[str, Any]) -> dict[str, Any]:
        replaced: dict[str, Any] = replace_in_json(value)
        return replaced

    @field_validator("interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class DebugUploadIn(BaseModel):
    listing_title: Annotated[StoredText, Field(min_length=1)]
    image_path: str = Field(min_length=1)
    process_now: bool = False


# The system's envelope (its web client checks `success`) and the document's `status`.
_respond = message_errors(
    lambda message, _status: {"success": False, "status": "error", "message": message}
)


class ErrorOut(BaseModel):
    """What an error answers (``_respond``)."""

    success: bool = False
    status: str = "error"
    message: str


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(ErrorOut, *statuses)


UPLOAD_BODY = multipart_body(
    {
        "listing_title": {"type": "string", "pattern": "\\S"},
        "file": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "minItems": 1,
            "description": "The images; without this field, every file field is taken.",
        },
    },
    ["listing_title", "file"],
)


def _success(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "status": "success", "data": data}, status)


class ImageWork:
    """What the processor, the effect and the routes share: the stores, and submitting an
    image's job."""

    def __init__(self, variables: Variables, service: JobService) -> None:
        self.variables = variables
        self.service = service
        engine = service.store.engine
        self.images = ListingImages(engine)
        self.jobs = ScheduledJobs(engine)
        self.pending = service.blobs  # uploads wait in darkroom's own store
        self.listing = listing_store(variables, service.settings)

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

    def run_batch(self, batch_size: int, only: str | None = None) -> int:
        """Submit the jobs of up to ``batch_size`` waiting images; how many."""
        batch = self.images.claim(batch_size, LEASE_S, only=only)
        for image in batch:
            self.submit(image)
        return len(batch)

    def submit(self, image: ListingImage) -> None:
        """The image's job: one per try (a batch that claims it again after a crash
        finds the same job)."""
        output = OutputIn(
            name=OUTPUT_NAME,
            op="thumbnail",
            height=self.variables.max_height,
            format="webp",
            quality=WEBP_QUALITY,
        )
        options = JobOptions(
            outputs=[output],
            labels={DIALECT_LABEL: NAME, IMAGE_LABEL: image.id, TRY_LABEL: str(image.retries)},
            idempotency_key=f"greenvue:{image.id}:{image.retries}",
        )
        try:
            data = self.pending.get(image.source_key)
            self.service.submit(options, [IncomingSource(data=data)], effects=[NAME])
        except InsufficientStorage:
            raise  # a full disk, not the image: claimed again once its lease runs out
        except (ServiceError, BlobNotFound) as exc:
            message = exc.message if isinstance(exc, ServiceError) else str(exc)
            self.failed(image, message)

    def record(self, job: Job) -> None:
        """The ``greenvue`` effect: the image's record of its job's outcome. Acts only on
        the try the job was for, so running it twice changes nothing."""
        image = self.images.get(job.labels[IMAGE_LABEL])
        if image is None or image.status != PROCESSING:
            return
        if str(image.retries) != job.labels.get(TRY_LABEL):
            return
        made = job.output(OUTPUT_NAME)
        if job.status is JobStatus.SUCCEEDED and made is not None:
            try:
                self.listing.put(image.file_name, self.service.blobs.get(made["key"]))
            except Exception as exc:
                raise EffectFailed(f"storing {image.file_name}: {exc}") from exc
            self.images.processed(image.id)
            self.pending.delete_prefix(image.source_key)
        elif job.status is JobStatus.CANCELED:
            self.failed(image, "canceled")
        else:
            self.failed(image, f"{job.error_code}: {job.error_message}")

    def failed(self, image: ListingImage, reason: str) -> None:
        status = self.images.failed(image, reason, self.variables.max_retries)
        if status is not None:
            log.warning(
                f"listing image failed ({status}): {reason}",
                extra={"image_id": image.id, "retries": image.retries + 1},
            )

    def wait_until_done(self, image_id: str, timeout_s: float) -> str:
        """The image's status once it is no longer being processed, or after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            image = self.images.get(image_id)
            if image is None or image.status != PROCESSING or time.monotonic() > deadline:
                return image.status if image is not None else "deleted"
            time.sleep(0.1)


def listing_store(variables: Variables, settings: Settings) -> BlobStore:
    """The listing images bucket: GREENVUE_STORAGE_URL (a folder, or s3://bucket/prefix
    for Supabase Storage and other S3-compatible stores), else a folder in the data dir."""
    url = variables.storage_url or str((settings.data_dir / "listing-images").resolve())
    return open_blobs(url, **settings.blob_options())


class BatchProcessor:
    """Every interval, in one darkroom process at a time, a batch of waiting images."""

    def __init__(self, work: ImageWork, tick_s: float = 0.25) -> None:
        self.work = work
        self.loop = Periodic("greenvue-images", tick_s, self.tick)

    def start(self) -> None:
        self.work.jobs.ensure(self.work.default_job())
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def tick(self) -> None:
        job = self.work.jobs.take_turn(QUEUE_JOB)
        if job is not None:
            size = int(job.payload.get("batch_size") or self.work.variables.batch_size)
            submitted = self.work.run_batch(size)
            if submitted:
                log.info("listing images submitted", extra={"batch": submitted})


GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # what the system showed for a job that never ran


def _job_view(job: ScheduledJob, running: bool) -> dict[str, Any]:
    """The job as the document's fields and the system's own (last_run, next_run,
    is_running) show it."""
    next_run = (job.last_run_at or time.time()) + job.interval_s if job.active else None
    return {
        "id": job.id,
        "name": job.name,
        "description": job.description,
        "type": job.type,
        "interval": format_duration(job.interval_s),
        "payload": job.payload,
        "status": "active" if job.active else "stopped",
        "last_run": rfc3339(job.last_run_at) or GO_ZERO_TIME,
        "next_run": rfc3339(next_run) or GO_ZERO_TIME,
        "is_running": running,
        "last_run_at": rfc3339(job.last_run_at),
        "next_run_at": rfc3339(next_run),
    }


class GreenVue(DialectDefaults):
    name = NAME
    seed = "002"
    schema: Schema | None = SCHEMA

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.variables: Variables = Variables.read(environ)
        self._work: ImageWork | None = None
        self._lock = threading.Lock()

    def background(self, service: JobService) -> list[BatchProcessor]:
        return [BatchProcessor(self.work(service))]

    def effects(self, service: JobService) -> dict[str, EffectHandler]:
        return {NAME: self.work(service).record}

    def work(self, service: JobService) -> ImageWork:
        with self._lock:
            if self._work is None:
                self._work = ImageWork(self.variables, service)
                self._work.jobs.ensure(self._work.default_job())
            return self._work

    def public_url(self, settings: Settings, file_name: str) -> str:
        base = self.variables.public_url or settings.link_base() + IMAGES_PATH
        return f"{base.rstrip('/')}/{file_name}"

    def routers(self, prefix: str) -> list[MountedRouter]:
        mounted = [MountedRouter(router, prefix)]
        if not self.variables.production:
            mounted.append(MountedRouter(debug_router, prefix))
        return mounted


async def _greenvue(request: Request) -> GreenVue:
    return enabled_dialect(request, NAME, GreenVue)


GreenVueDep = Annotated[GreenVue, Depends(_greenvue)]
_GreenVueRoute = route_class(_respond)
router = APIRouter(tags=["drop-in: greenvue (seed 002)"], route_class=_GreenVueRoute)
# Beside it, outside production.
debug_router = APIRouter(tags=["drop-in: greenvue (seed 002)"], route_class=_GreenVueRoute)


def _queue(greenvue: GreenVue, work: ImageWork, title: str, data: bytes) -> dict[str, str]:
    """Keep an upload waiting for the processor; its image's answer."""
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
        "url": greenvue.public_url(work.service.settings, file_name),
        "file_name": file_name,
        "status": PENDING,
    }


def _active(work: ImageWork, job_id: str) -> ScheduledJob:
    job = work.jobs.get(job_id)
    if job is None or not job.active:
        raise BadRequest("Job not found")
    return job


@router.post(
    "/api/upload/listing_image",
    status_code=200,
    responses=_errors(400, 413),
    openapi_extra=UPLOAD_BODY,
)
async def upload(request: Request, greenvue: GreenVueDep, service: ServiceDep) -> Response:
    """Multipart: `listing_title` and one or more images, in the field `file` or,
    without one, in any fields. Answers at once with each image's final URL; files
    that are not images are skipped (named in `skipped`), and only a request with no
    image at all is refused, storing nothing."""
    settings = service.settings
    accept_upload(request, None)  # files are spooled; each read below up to the upload limit
    form = await request.form()
    title = str(form.get("listing_title") or "").strip()
    if not title:
        raise BadRequest("Missing listing title in form data")
    if "\x00" in title:  # the system's PostgreSQL refused it (multipart text has no surrogates)
        raise BadRequest("Invalid listing title in form data: must not contain a NUL character")
    uploads = [part for part in form.getlist("file") if isinstance(part, UploadFile)]
    if not uploads:
        uploads = [
            part
            for name, part in form.multi_items()
            if name != "listing_title" and isinstance(part, UploadFile)
        ]
    if not uploads:
        raise BadRequest("No files were uploaded (form field 'file')")
    files: list[tuple[str, bytes]] = []
    for part in uploads:
        data = await part.read(settings.max_upload_bytes + 1)  # never more than one over
        if len(data) > settings.max_upload_bytes:
            raise ServiceError(
                f"{part.filename} is larger than {settings.max_upload_bytes} bytes",
                status_code=413,
            )
        files.append((part.filename or "file", data))
    work = greenvue.work(service)

    def queue_valid() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        valid, skipped = [], []
        for filename, data in files:
            try:
                service.inspect(data)
            except ServiceError as exc:
                skipped.append({"file_name": filename, "reason": exc.message})
                continue
            valid.append(data)
        if not valid:
            raise BadRequest("No valid files were processed: none is an image darkroom reads")
        return [_queue(greenvue, work, title, data) for data in valid], skipped

    images, skipped = await run_in_threadpool(queue_valid)
    for entry in skipped:
        log.warning(f"upload skipped: {entry['reason']}", extra={"file": entry["file_name"]})
    answer: dict[str, Any] = {
        "message": f"{len(images)} images queued for processing",
        "image_count": len(images),
        "images": images,
        "status": "processing",
    }
    if skipped:
        answer["skipped"] = skipped
    return _success(answer)


@router.get(
    IMAGES_PATH + "/{file_name}",
    status_code=200,
    response_class=Response,
    responses={200: {"content": {"image/webp": {}}}, **_errors(404)},
)
def image(file_name: str, greenvue: GreenVueDep, service: ServiceDep) -> Response:
    """A processed listing image; 404 until it is processed."""
    try:
        data = greenvue.work(service).listing.get(file_name)
    except (BlobNotFound, ValueError) as exc:
        raise NotFound("image not found") from exc
    return Response(data, media_type="image/webp")


@router.get("/api/jobs", status_code=200)
def list_jobs(greenvue: GreenVueDep, service: ServiceDep) -> Response:
    """The scheduled jobs: the image queue's processor while it is active."""
    work = greenvue.work(service)
    job = work.jobs.get(QUEUE_JOB)
    jobs = [job] if job is not None and job.active else []
    return _success([_job_view(j, work.images.processing() > 0) for j in jobs])


@router.post("/api/jobs", status_code=201, responses=_errors(400))
def create_job(body: JobIn, greenvue: GreenVueDep, service: ServiceDep) -> Response:
    """Create or restart the image queue's processor."""
    if body.id != QUEUE_JOB:
        raise BadRequest(f"the only job of type {PROCESS_IMAGES} is {QUEUE_JOB!r}")
    batch = body.payload.get("batch_size", greenvue.variables.batch_size)
    if not isinstance(batch, int) or not 1 <= batch <= 1000:
        raise BadRequest("payload.batch_size must be an integer from 1 to 1000")
    now = time.time()
    work = greenvue.work(service)
    job = work.jobs.put(
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
    view = _job_view(job, work.images.processing() > 0)
    return _success({**view, "message": "Job created successfully"}, 201)


@router.get("/api/jobs/{job_id}", status_code=200, responses=_errors(400))
def job_status(job_id: str, greenvue: GreenVueDep, service: ServiceDep) -> Response:
    """The image queue's processor: interval, batch size, runs, active or not."""
    work = greenvue.work(service)
    job = _active(work, job_id)
    return _success(_job_view(job, work.images.processing() > 0))


@router.delete("/api/jobs/{job_id}", status_code=200, responses=_errors(400))
def stop_job(job_id: str, greenvue: GreenVueDep, service: ServiceDep) -> Response:
    """Stops processing images (they keep waiting) until the job is created again."""
    work = greenvue.work(service)
    _active(work, job_id)
    work.jobs.stop(job_id)
    return _success({"status": "success", "message": "Job removed successfully"})


@debug_router.get("/debug/image-queue-status")
def queue_status(greenvue: GreenVueDep, service: ServiceDep) -> Response:
    """The document's fields, and the same in the system's `{success, data}`."""
    work = greenvue.work(service)
    job = work.jobs.get(QUEUE_JOB)
    active = job is not None and job.active
    status = {
        "pending_count": work.images.waiting(),
        "queue_status": {
            "initialized": job is not None,
            "status": "active" if active else "stopped",
        },
    }
    return JSONResponse({"success": True, "data": status, **status})


# 403 without a debug root (or outside it), 404 for no such file, an image error's status
@debug_router.post("/debug/upload-test-image", responses=_errors(400, 403, 404, 413, 415, 422))
def upload_test_image(body: DebugUploadIn, greenvue: GreenVueDep, service: ServiceDep) -> Response:
    """Queue a file from the server's GREENVUE_DEBUG_IMAGE_ROOT (else
    DARKROOM_INPUT_ROOT); with `process_now`, submit its job at once and answer when
    it has been processed (or after a minute)."""
    settings = service.settings
    path = resolve_input_path(greenvue.variables.debug_root or settings.input_root, body.image_path)
    data = path.read_bytes()
    service.inspect(data)
    work = greenvue.work(service)
    queued = _queue(greenvue, work, body.listing_title, data)
    if body.process_now and work.run_batch(1, only=queued["id"]):
        queued["status"] = work.wait_until_done(queued["id"], timeout_s=60)
    return _success(queued)
