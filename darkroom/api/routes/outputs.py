"""/v1/jobs/{id}/outputs/{name}: a job's results, converted on the fly when asked."""

from __future__ import annotations

import hashlib
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from darkroom import imaging
from darkroom.api.deps import BlobsDep, ServiceDep, SettingsDep
from darkroom.api.errors import error_responses
from darkroom.blobs import BlobNotFound
from darkroom.jobs import keys
from darkroom.jobs.errors import Conflict, JobFailed, NotFinished, NotFound, from_image_error
from darkroom.jobs.model import Job
from darkroom.jobs.status import JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["outputs"])

# Conversions decode images; bound how many run at once in one API process.
_conversions = anyio.CapacityLimiter(2)


def _finished_output(job: Job, name: str) -> dict[str, object]:
    if job.artifacts_deleted:
        raise NotFound("this job's artifacts were deleted", code="artifacts_deleted")
    if job.status in (JobStatus.QUEUED, JobStatus.PROCESSING):
        raise NotFinished(f"the job is {job.status.value}; outputs are ready when it succeeds")
    if job.status is JobStatus.FAILED:
        raise JobFailed(f"the job failed ({job.error_code}): {job.error_message}")
    if job.status is JobStatus.CANCELED:
        raise Conflict("the job was canceled", code="job_canceled")
    output = job.output(name)
    if output is None:
        raise NotFound(f"the job has no output named {name!r}", code="output_not_found")
    return output


@router.get(
    "/{job_id}/outputs/{name}",
    responses={
        200: {
            "content": {f"image/{f}": {} for f in ("jpeg", "png", "webp", "avif", "gif")},
            "description": "The image.",
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
        307: {
            "description": "With DARKROOM_STORAGE_PUBLIC_URL or DARKROOM_STORAGE_PRESIGN_S set, "
            "an unconverted output is fetched from the store itself: its public or presigned URL."
        },
        **error_responses(404, 409, 422),
    },
    response_class=Response,
)
async def get_output(
    job_id: str,
    name: str,
    request: Request,
    service: ServiceDep,
    blobs: BlobsDep,
    settings: SettingsDep,
    format: imaging.OutputFormat | None = None,
    width: Annotated[int | None, Query(ge=1)] = None,
    quality: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Response:
    """The output as stored, or converted to another `format`, a smaller `width` or another
    `quality`. Converted variants are cached beside the output."""
    job = await run_in_threadpool(service.get, job_id)
    output = _finished_output(job, name)
    stored_format = imaging.OutputFormat(str(output["format"]))
    key = str(output["key"])
    converting = format is not None or width is not None or quality is not None
    target = format or stored_format
    variant = f"w{width or 0}-q{quality or 0}"
    etag_source = (
        f"{job.id}/{name}/{job.finished_at}/{target.value}/{variant if converting else ''}"
    )
    etag = '"' + hashlib.sha256(etag_source.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if width is not None and width > settings.max_output_dimension:
        raise from_image_error(
            imaging.OutputTooLarge(f"width is limited to {settings.max_output_dimension} px")
        )

    if not converting and (direct := _direct_url(blobs, settings, key)) is not None:
        return RedirectResponse(direct, status_code=307, headers={"Cache-Control": "no-store"})

    try:
        if not converting:
            data = await run_in_threadpool(blobs.get, key)
        else:
            data = await _variant(
                blobs,
                settings.variant_cache,
                job,
                name,
                key,
                target,
                width,
                quality,
                settings.image_limits(),
            )
    except BlobNotFound as exc:
        raise NotFound("the output is no longer stored", code="artifacts_deleted") from exc
    return Response(content=data, media_type=imaging.media_type(target), headers=headers)


def _direct_url(blobs: BlobsDep, settings: SettingsDep, key: str) -> str | None:
    """Where the client can fetch the stored output itself, when configured: under the
    store's public base URL, or a presigned URL of the store."""
    if settings.storage_public_url:
        return blobs.public_url(key, settings.storage_public_url)
    if settings.storage_presign_s > 0:
        return blobs.presigned_url(key, settings.storage_presign_s)
    return None


async def _variant(
    blobs: BlobsDep,
    cache: bool,
    job: Job,
    name: str,
    key: str,
    target: imaging.OutputFormat,
    width: int | None,
    quality: int | None,
    limits: imaging.Limits,
) -> bytes:
    variant_key = keys.variant_key(job.id, name, f"w{width or 0}-q{quality or 0}", target)
    if cache:
        try:
            return await run_in_threadpool(blobs.get, variant_key)
        except BlobNotFound:
            pass
    original = await run_in_threadpool(blobs.get, key)
    try:
        async with _conversions:
            rendered = await run_in_threadpool(
                imaging.convert, original, target, width, quality, limits
            )
    except imaging.ImageError as exc:
        raise from_image_error(exc) from exc
    if cache:
        await run_in_threadpool(blobs.put, variant_key, rendered.data)
    return rendered.data
