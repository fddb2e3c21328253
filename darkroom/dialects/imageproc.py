"""Seed 003 (../shared/seeds/003_*.txt): the Go worker-pool image processing service.

POST /jobs with base64 image data, GET /jobs/{id}, GET /jobs/{id}/download, GET /health.
Errors answer ``{"error": message}``: 400 for a request that is not valid, 413 over
MAX_UPLOAD_SIZE, 404 for an unknown job, 400 "Image not ready" for a download before the
job completed (as the service did).

Its ``thumbnail`` is not darkroom's: it scales the source to fit the box, up as well as
down, and truncates the sides to whole pixels (``thumbnail_size``). The dialect reads the
source's size at submission and queues darkroom's exact ``resize`` to that size; the
record still shows the operation and box that were asked for (kept as labels).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from darkroom.api.deps import ServiceDep, VariantsDep
from darkroom.api.output_files import finished_output, output_bytes
from darkroom.dialects.base import (
    DIALECT_LABEL,
    DialectDefaults,
    MountedRouter,
    SeedVariables,
    enabled_dialect,
    first_problem,
    iso_utc,
    message_errors,
    own_job,
    route_class,
)
from darkroom.jobs import keys
from darkroom.jobs.errors import JobFailed, NotFinished, ServiceError
from darkroom.jobs.model import Job
from darkroom.jobs.records import OutputSpec
from darkroom.jobs.sources import IncomingSource, decode_base64
from darkroom.jobs.spec import JobOptions, OutputIn
from darkroom.jobs.status import JobStatus

NOT_FOUND = "Job not found"
NAME = "imageproc"
OUTPUT = "output"
# What the request asked for, where the spec holds what darkroom was asked to do.
OPERATION_LABEL = "imageproc.operation"
WIDTH_LABEL = "imageproc.width"
HEIGHT_LABEL = "imageproc.height"
JPEG_QUALITY = 90  # the service wrote JPEG at 90
STATUS = {
    JobStatus.QUEUED: "pending",
    JobStatus.PROCESSING: "processing",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "failed",
}


class Variables(SeedVariables):
    port: int | None = Field(None, alias="PORT", ge=1, le=65535)
    db_path: str | None = Field(None, alias="DB_PATH")
    worker_pool_size: int | None = Field(None, alias="WORKER_POOL_SIZE", ge=1)
    max_upload_size: int = Field(10 * 1024 * 1024, alias="MAX_UPLOAD_SIZE", ge=1)
    # accepted; darkroom keeps images in its own store (DARKROOM_STORAGE_URL)
    upload_dir: str | None = Field(None, alias="UPLOAD_DIR")
    output_dir: str | None = Field(None, alias="OUTPUT_DIR")


class SubmitIn(BaseModel):
    model_config = ConfigDict(strict=True)  # as Go decoded it: "100" is not a number

    image_data: str = Field(min_length=1, description="The image, base64")
    operation: Literal["resize", "thumbnail"] = Field(
        description="resize: exactly width x height (may distort); thumbnail: scaled up or "
        "down to fit within, aspect kept, sides truncated to whole pixels"
    )
    width: int = Field(ge=1, le=4096)
    height: int = Field(ge=1, le=4096)
    output_format: Literal["jpeg", "png"] | None = Field(
        None, description='Default (absent, null or ""): the input\'s format'
    )

    @field_validator("output_format", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        """Gin's ``omitempty``: an empty string is no format, the input's is used."""
        return None if value == "" else value


class SubmitOut(BaseModel):
    job_id: str
    status: str = "pending"
    message: str = "Image processing job submitted"


class JobRecord(BaseModel):
    id: str
    status: str = Field(description="pending, processing, completed or failed")
    input_path: str = Field(description="Where the input is kept in darkroom's store")
    output_path: str = Field(description="Where the output is (or will be) kept")
    operation: str
    width: int
    height: int
    error: str | None = Field(None, description="Only on failed jobs")
    created_at: str
    updated_at: str


class HealthOut(BaseModel):
    status: str = "healthy"
    timestamp: int


class ErrorOut(BaseModel):
    error: str


def _describe(exc: RequestValidationError | ValidationError) -> str:
    field, kind, message = first_problem(exc)
    if kind.startswith("json") or not field:
        return f"request body is not valid JSON: {message}"
    return f"{field}: {message}"


def _status(exc: ServiceError) -> int:
    """As the service answered: 400 for whatever is wrong with the request."""
    return exc.status_code if exc.status_code in (404, 409, 413) or exc.status_code >= 500 else 400


_respond = message_errors(lambda message, _status: {"error": message}, _describe, _status)


def thumbnail_size(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The service's thumbnail size: ``width`` x ``height`` scaled by the smaller of the
    box's ratios, up or down, each side truncated to whole pixels in float64 arithmetic
    (451x300 in 100x100: 100x66; 1x1 in 50x50: 50x50; 97x50 in 100x100: 99x51, as the
    product falls just short of 100). A side the service truncated to 0 (1000x1 in
    100x100), an empty image it could not encode, is 1 here."""
    scale = min(box_width / width, box_height / height)
    return max(1, int(width * scale)), max(1, int(height * scale))


def _planned_output_path(job: Job, spec: OutputSpec) -> str:
    """Where the output of a job not finished yet will be: in the format asked for, else
    in the one darkroom picks for the source's (its own, where darkroom writes it)."""
    facts = job.source_facts or []
    source_format = facts[0]["format"] if facts else "jpeg"
    return keys.planned_output_key(job.id, OUTPUT, spec.get("format"), source_format)


def _record(job: Job) -> JobRecord:
    spec = job.spec["outputs"][0]
    source = job.sources[0]
    labels = job.labels
    output = job.output(OUTPUT)
    output_path = output["key"] if output is not None else _planned_output_path(job, spec)
    failed = job.status in (JobStatus.FAILED, JobStatus.CANCELED)
    return JobRecord(
        id=job.id,
        status=STATUS[job.status],
        input_path=source["key"] if source["kind"] == "blob" else "",
        output_path=output_path,
        operation=labels.get(OPERATION_LABEL, spec["op"]),
        width=int(labels.get(WIDTH_LABEL, spec["width"] or 0)),
        height=int(labels.get(HEIGHT_LABEL, spec["height"] or 0)),
        error=(job.error_message or job.error_code or "failed") if failed else None,
        created_at=iso_utc(job.created_at),
        updated_at=iso_utc(job.updated_at),
    )


class ImageProc(DialectDefaults):
    name = NAME
    seed = "003"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.variables: Variables = Variables.read(environ)

    def settings(self) -> dict[str, Any]:
        v = self.variables
        found: dict[str, Any] = {"port": v.port, "workers": v.worker_pool_size}
        if v.db_path:
            found["database_url"] = f"sqlite:///{v.db_path}"
        return found

    def routers(self, prefix: str) -> list[MountedRouter]:
        return [MountedRouter(router, prefix)]


async def _imageproc(request: Request) -> ImageProc:
    return enabled_dialect(request, NAME, ImageProc)


ImageProcDep = Annotated[ImageProc, Depends(_imageproc)]

router = APIRouter(
    tags=["drop-in: imageproc (seed 003)"],
    route_class=route_class(_respond),
    responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)


@router.post(
    "/jobs", status_code=202, response_model=SubmitOut, responses={413: {"model": ErrorOut}}
)
async def submit(body: SubmitIn, imageproc: ImageProcDep, service: ServiceDep) -> SubmitOut:
    """Queue a resize or thumbnail of a base64 image."""
    max_bytes = imageproc.variables.max_upload_size
    labels = {
        DIALECT_LABEL: NAME,
        OPERATION_LABEL: body.operation,
        WIDTH_LABEL: str(body.width),
        HEIGHT_LABEL: str(body.height),
    }

    def accept() -> Job:  # decoding and probing off the event loop
        try:
            data = decode_base64(body.image_data, max_bytes=max_bytes)
        except ServiceError as exc:
            if exc.status_code == 413:
                raise
            raise ServiceError("Invalid base64 image data") from exc
        width, height = body.width, body.height
        if body.operation == "thumbnail":
            facts = service.inspect(data)  # the displayed size, EXIF orientation applied
            width, height = thumbnail_size(facts.width, facts.height, width, height)
        output = OutputIn(
            name=OUTPUT,
            op="resize",  # exactly that size: a thumbnail's was computed above
            width=width,
            height=height,
            enlarge=True,
            format=body.output_format,  # None: the input's
            quality=JPEG_QUALITY,
        )
        options = JobOptions(outputs=[output], labels=labels)
        job, _ = service.submit(options, [IncomingSource(data=data, filename="input")])
        return job

    job = await run_in_threadpool(accept)
    return SubmitOut(job_id=job.id)


@router.get("/jobs/{job_id}", response_model=JobRecord, response_model_exclude_none=True)
def get_job(job_id: str, service: ServiceDep) -> JobRecord:
    """The job; `error` only when it failed."""
    return _record(own_job(service, job_id, NAME, NOT_FOUND))


@router.get(
    "/jobs/{job_id}/download",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
async def download(job_id: str, service: ServiceDep, variants: VariantsDep) -> Response:
    """The processed image; 400 "Image not ready" until the job completed."""
    job = await run_in_threadpool(own_job, service, job_id, NAME, NOT_FOUND)
    try:
        output = finished_output(job, OUTPUT)
    except (NotFinished, JobFailed) as exc:
        raise ServiceError("Image not ready") from exc
    data, fmt = await output_bytes(variants, job, output)
    return Response(data, media_type=f"image/{fmt.value}")


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    """The process answers."""
    return HealthOut(timestamp=int(time.time()))
