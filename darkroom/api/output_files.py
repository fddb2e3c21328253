"""A finished job's output, as stored or converted on the fly: what the native outputs
route and the drop-in dialects serve."""

from __future__ import annotations

from collections.abc import Callable

import anyio
from starlette.concurrency import run_in_threadpool

from darkroom import imaging
from darkroom.blobs import BlobNotFound, BlobStore
from darkroom.config import Settings
from darkroom.jobs import keys
from darkroom.jobs.errors import Conflict, JobFailed, NotFinished, NotFound, from_image_error
from darkroom.jobs.model import Job
from darkroom.jobs.records import OutputRecord
from darkroom.jobs.status import JobStatus
from darkroom.slices import image_limits

# Conversions decode images; bound how many run at once in one API process.
_conversions = anyio.CapacityLimiter(2)


def finished_output(job: Job, name: str) -> OutputRecord:
    """The output's record; NotFinished, JobFailed, Conflict or NotFound otherwise."""
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


async def output_bytes(
    blobs: BlobStore,
    settings: Settings,
    job: Job,
    output: OutputRecord,
    target: str | None = None,
    width: int | None = None,
    quality: int | None = None,
) -> tuple[bytes, imaging.OutputFormat]:
    """The output's bytes: as stored, or in ``target`` format (jpeg, png, webp, avif,
    gif), ``width`` wide (aspect kept, never enlarged) or at ``quality``. Converted
    variants are cached beside the output when DARKROOM_VARIANT_CACHE is on."""
    stored_format = imaging.OutputFormat(output["format"])
    if width is not None and width > settings.max_output_dimension:
        raise from_image_error(
            imaging.OutputTooLarge(f"width is limited to {settings.max_output_dimension} px")
        )
    if target is None and width is None and quality is None:
        try:
            return await run_in_threadpool(blobs.get, output["key"]), stored_format
        except BlobNotFound as exc:
            raise NotFound("the output is no longer stored", code="artifacts_deleted") from exc
    fmt = imaging.OutputFormat(target or stored_format)
    limits = image_limits(settings)

    def convert(original: bytes) -> imaging.Rendered:
        return imaging.convert(original, fmt, width, quality, limits)

    name = f"w{width or 0}-q{quality or 0}"
    return await _variant(blobs, settings, job, output, name, fmt, convert), fmt


async def resized_output(
    blobs: BlobStore,
    settings: Settings,
    job: Job,
    output: OutputRecord,
    target: str,
    width: int,
    height: int,
    quality: int,
) -> bytes:
    """The output resized to exactly ``width`` x ``height``, smaller or larger (a
    dialect whose system enlarged), in ``target`` format; cached as a variant when
    DARKROOM_VARIANT_CACHE is on. Raises NotFound when the output is gone, and the
    image errors of a conversion that fails."""
    if max(width, height) > settings.max_output_dimension:
        raise from_image_error(
            imaging.OutputTooLarge(f"sides are limited to {settings.max_output_dimension} px")
        )
    fmt = imaging.OutputFormat(target)
    spec = imaging.RenderSpec(
        imaging.Operation.RESIZE, width=width, height=height, format=fmt, quality=quality
    )
    limits = image_limits(settings)

    def resize(original: bytes) -> imaging.Rendered:
        return imaging.render(original, [spec], limits)[0]

    name = f"w{width}x{height}-q{quality}"
    return await _variant(blobs, settings, job, output, name, fmt, resize)


async def _variant(
    blobs: BlobStore,
    settings: Settings,
    job: Job,
    output: OutputRecord,
    name: str,
    fmt: imaging.OutputFormat,
    make: Callable[[bytes], imaging.Rendered],
) -> bytes:
    """The output made again by ``make`` (in ``fmt``), kept as variant ``name``."""
    key = keys.variant_key(job.id, output["name"], name, fmt)
    try:
        if settings.variant_cache:
            try:
                cached: bytes = await run_in_threadpool(blobs.get, key)
                return cached
            except BlobNotFound:
                pass
        original = await run_in_threadpool(blobs.get, output["key"])
    except BlobNotFound as exc:
        raise NotFound("the output is no longer stored", code="artifacts_deleted") from exc
    try:
        async with _conversions:
            rendered = await run_in_threadpool(make, original)
    except imaging.ImageError as exc:
        raise from_image_error(exc) from exc
    if settings.variant_cache:
        await run_in_threadpool(blobs.put, key, rendered.data)
    return rendered.data


def media_type(fmt: str) -> str:
    """The media type of an output format's files."""
    return imaging.media_type(imaging.OutputFormat(fmt))
