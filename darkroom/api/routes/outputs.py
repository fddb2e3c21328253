"""/v1/jobs/{id}/outputs/{name}: a job's results, converted on the fly when asked."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from darkroom import imaging
from darkroom.api.auth import OutputCallerDep
from darkroom.api.deps import BlobsDep, ServiceDep, SettingsDep, VariantsDep
from darkroom.api.errors import error_responses
from darkroom.api.output_files import NO_STEPS, VariantSteps, finished_output, output_bytes
from darkroom.jobs.spec import MAX_BLUR_SIGMA, MAX_SHARPEN_SIGMA

router = APIRouter(prefix="/v1/jobs", tags=["outputs"])


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
        **error_responses(401, 403, 404, 409, 422, 503),
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
    variants: VariantsDep,
    caller: OutputCallerDep,
    format: imaging.OutputFormat | None = None,
    width: Annotated[int | None, Query(ge=1)] = None,
    quality: Annotated[int | None, Query(ge=1, le=100)] = None,
    rotate: Annotated[int, Query(ge=0, le=270, multiple_of=90)] = 0,
    flip: imaging.Flip | None = None,
    blur: Annotated[float | None, Query(ge=0.3, le=MAX_BLUR_SIGMA)] = None,
    sharpen: Annotated[float | None, Query(ge=0.3, le=MAX_SHARPEN_SIGMA)] = None,
    dpr: Annotated[float, Query(ge=1, le=4)] = 1.0,
    progressive: bool = False,
    lossless: bool = False,
) -> Response:
    """The output as stored, or converted: another `format`, a smaller `width` (times
    `dpr`), another `quality`, and the output operations `rotate`, `flip`, `blur`,
    `sharpen`, `progressive` and `lossless`, as a job's output takes them. Converted
    variants are cached beside the output; 503 `busy` (with Retry-After) when this
    process's conversions stayed busy for DARKROOM_VARIANT_WAIT_S, 503
    `conversion_failed` when the converter process died before it was done."""
    job = await run_in_threadpool(service.get, job_id, caller.scope)
    output = finished_output(job, name)
    stored_format = imaging.OutputFormat(output["format"])
    steps = VariantSteps(rotate, flip, blur, sharpen, dpr, progressive, lossless)
    converting = format is not None or width is not None or quality is not None
    converting = converting or steps != NO_STEPS
    target = format or stored_format
    variant = f"w{width or 0}-q{quality or 0}{steps.suffix()}"
    etag_source = (
        f"{job.id}/{name}/{job.finished_at}/{target.value}/{variant if converting else ''}"
    )
    etag = '"' + hashlib.sha256(etag_source.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if not converting and (direct := _direct_url(blobs, settings, output["key"])):
        return RedirectResponse(direct, status_code=307, headers={"Cache-Control": "no-store"})
    data, served = await output_bytes(variants, job, output, format, width, quality, steps)
    return Response(content=data, media_type=imaging.media_type(served), headers=headers)


def _direct_url(blobs: BlobsDep, settings: SettingsDep, key: str) -> str | None:
    """Where the client can fetch the stored output itself, when configured: under the
    store's public base URL, or a presigned URL of the store."""
    if settings.storage_public_url:
        return blobs.public_url(key, settings.storage_public_url)
    if settings.storage_presign_s > 0:
        return blobs.presigned_url(key, settings.storage_presign_s)
    return None
