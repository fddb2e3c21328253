"""Seed 000's GET /job/{id}/image (the smartcrop dialect): the cover as stored, or
converted and resized as the service's converter did."""

from __future__ import annotations

from fastapi import Response

from darkroom.api.output_files import finished_output, media_type, output_bytes, resized_output
from darkroom.api.variants import Variants
from darkroom.dialects.base import BadRequest
from darkroom.dialects.smartcrop_request import DEFAULT_QUALITY, JPEG, OUTPUT
from darkroom.jobs.errors import (
    IMAGE_ERROR_STATUS,
    Busy,
    JobFailed,
    NotFinished,
    NotFound,
    ServiceError,
)
from darkroom.jobs.model import Job
from darkroom.jobs.records import OutputRecord


async def cover_image(
    variants: Variants,
    job: Job,
    format: str,
    width: str,
    quality: str,
) -> Response:
    """GET /job/{id}/image of the job found, checked in the service's order: its state,
    the stored cover, then the query."""
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
            data = await _resized(variants, job, output, target, size, max(1, q))
            served = target
        else:
            data, served = await output_bytes(
                variants,
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
    variants: Variants,
    job: Job,
    output: OutputRecord,
    target: str,
    width: int,
    quality: int,
) -> bytes:
    """The cover resized to ``width``, smaller or larger, its height rounded as the
    service's converter rounded it (Lanczos either way); the service's enlarged, where
    darkroom's own ?width= never does."""
    stored_w, stored_h = output["width"], output["height"]
    limit = variants.limits.max_output_dimension
    widest = min(limit, limit * stored_w // stored_h)  # neither side above the limit
    if width > widest:
        raise BadRequest(f"width must be at most {widest}")
    height = max(1, round(stored_h * width / stored_w))
    try:
        return await resized_output(variants, job, output, target, width, height, quality)
    except NotFound as exc:
        raise NotFound("output image was deleted or not found") from exc
    except Busy:
        raise  # too many conversions at once here: 503, try again
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
