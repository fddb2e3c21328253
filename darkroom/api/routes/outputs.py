"""/v1/jobs/{id}/outputs/{name}: a job's results, converted on the fly when asked, served
as docs/api.md "Serving outputs" says: the stored format the request's Accept prefers,
conditional requests, byte ranges, HEAD, and signed variants."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from darkroom import imaging
from darkroom.api import http_cache, negotiation, variant_signing
from darkroom.api.auth import OutputCallerDep
from darkroom.api.deps import BlobsDep, ServiceDep, SettingsDep, VariantsDep
from darkroom.api.errors import error_body, error_responses
from darkroom.api.output_files import (
    NO_STEPS,
    VariantSteps,
    finished_output,
    output_bytes,
    stored_as,
    stored_bytes,
    stored_formats,
)
from darkroom.jobs.errors import InvalidRequest, ServiceError
from darkroom.jobs.presets import Preset
from darkroom.jobs.records import FormatRecord
from darkroom.jobs.spec import MAX_BLUR_SIGMA, MAX_SHARPEN_SIGMA

router = APIRouter(prefix="/v1/jobs", tags=["outputs"])

PATH = "/{job_id}/outputs/{name}"
# Every query parameter the route reads: `expires` and `sig` open a signed output link
# (api/output_links.py), `signature` a signed variant (api/variant_signing.py).
PARAMETERS = frozenset(
    {
        "format",
        "width",
        "quality",
        "rotate",
        "flip",
        "blur",
        "sharpen",
        "dpr",
        "progressive",
        "lossless",
        "preset",
        "expires",
        "sig",
        "signature",
    }
)
# what ?preset=NAME of an unsigned preset may come with and need no signature
UNSIGNED_PRESET_PARAMETERS = frozenset({"preset", "expires", "sig"})
# imaging.OutputFormat's values, and auto (tests/api/test_output_delivery.py checks)
RequestedFormat = Literal["auto", "jpeg", "png", "webp", "avif", "gif"]
IMAGE_TYPES = [fmt.value for fmt in imaging.OutputFormat]


async def _known_parameters(request: Request) -> None:
    unknown = sorted({name for name in request.query_params if name not in PARAMETERS})
    if unknown:
        raise ServiceError(
            f"unknown query parameter {unknown[0]!r}: this route takes "
            + ", ".join(sorted(PARAMETERS)),
            code="unknown_parameter",
            details={"unknown": unknown},
        )


RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {f"image/{f}": {} for f in IMAGE_TYPES},
        "description": "The image (HEAD: its headers alone).",
    },
    206: {
        "content": {f"image/{f}": {} for f in IMAGE_TYPES},
        "description": "The byte range asked for (`Range: bytes=…`), with `Content-Range`.",
    },
    304: {"description": "Not modified: If-None-Match, else If-Modified-Since, matched."},
    307: {
        "description": "With DARKROOM_STORAGE_PUBLIC_URL or DARKROOM_STORAGE_PRESIGN_S set, "
        "an unconverted output is fetched from the store itself: its public or presigned URL."
    },
    **error_responses(400, 401, 403, 404, 409, 416, 422, 503),
}


@router.head(
    PATH,
    responses=RESPONSES,
    response_class=Response,
    dependencies=[Depends(_known_parameters)],
    summary="Get Output's headers",
)
@router.get(
    PATH,
    responses=RESPONSES,
    response_class=Response,
    dependencies=[Depends(_known_parameters)],
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
    format: Annotated[
        RequestedFormat | None,
        Query(
            description="A stored format of the output: served as stored; `auto`: the one "
            "`Accept` prefers; another: converted."
        ),
    ] = None,
    width: Annotated[int | None, Query(ge=1)] = None,
    quality: Annotated[int | None, Query(ge=1, le=100)] = None,
    rotate: Annotated[int, Query(ge=0, le=270, multiple_of=90)] = 0,
    flip: imaging.Flip | None = None,
    blur: Annotated[float | None, Query(ge=0.3, le=MAX_BLUR_SIGMA)] = None,
    sharpen: Annotated[float | None, Query(ge=0.3, le=MAX_SHARPEN_SIGMA)] = None,
    dpr: Annotated[float, Query(ge=1, le=4)] = 1.0,
    progressive: bool = False,
    lossless: bool = False,
    preset: Annotated[
        str | None,
        Query(description="A preset (DARKROOM_PRESETS): the variant its fields describe."),
    ] = None,
    signature: Annotated[
        str | None,
        Query(
            description="With DARKROOM_URL_SIGNING_KEY set, what a conversion needs: "
            'docs/security.md, "Signed variants".'
        ),
    ] = None,
) -> Response:
    """The output as stored, or converted: another `format`, a smaller `width` (times
    `dpr`), another `quality`, and the output operations `rotate`, `flip`, `blur`,
    `sharpen`, `progressive` and `lossless`, as a job's output takes them, or those a
    `preset` gives (the parameters given beside it override its fields). An output
    stored in several formats is served in the one `Accept` prefers (`Vary: Accept`).
    Converted variants are cached beside the output; 503 `busy` (with Retry-After) when
    this process's conversions stayed busy for DARKROOM_VARIANT_WAIT_S, 503
    `conversion_failed` when the converter process died before it was done. Unknown
    query parameters are 400 `unknown_parameter`."""
    job = await run_in_threadpool(service.get, job_id, caller.scope)
    output = finished_output(job, name)
    stored = stored_formats(output)
    steps = VariantSteps(rotate, flip, blur, sharpen, dpr, progressive, lossless)
    signing_needed = True
    preset_negotiated = False
    if preset is not None:
        chosen_preset = _preset(request, preset)
        given = set(request.query_params)
        fields = chosen_preset.fields
        steps = VariantSteps(
            **{
                field: fields[field] if field in fields and field not in given else value
                for field, value in asdict(steps).items()
            }
        )
        width = fields.get("width") if "width" not in given else width
        quality = fields.get("quality") if "quality" not in given else quality
        if "format" not in given:
            choices = fields.get("formats") or ([fields["format"]] if "format" in fields else [])
            if len(choices) > 1:  # made in the one Accept prefers, as a stored output is
                media_types = [imaging.media_type(imaging.OutputFormat(f)) for f in choices]
                format = choices[negotiation.pick(media_types, request.headers.get("accept"))]
                preset_negotiated = True
            elif choices:
                format = choices[0]
        signing_needed = not (chosen_preset.unsigned and given <= UNSIGNED_PRESET_PARAMETERS)
    asked = None if format in (None, "auto") else imaging.OutputFormat(format)
    negotiated = asked is None and len(stored) > 1
    chosen: FormatRecord | None  # None: not stored in the format asked for
    if negotiated:
        media_types = [imaging.media_type(imaging.OutputFormat(s["format"])) for s in stored]
        chosen = stored[negotiation.pick(media_types, request.headers.get("accept"))]
    else:
        chosen = stored[0] if asked is None else stored_as(output, asked)
    converting = chosen is None or width is not None or quality is not None
    converting = converting or steps != NO_STEPS
    target = imaging.OutputFormat(chosen["format"]) if chosen is not None else asked
    target = target or imaging.OutputFormat(output["format"])
    if converting and settings.url_signing_key and signing_needed:
        variant_signing.check(
            request.url.path, request.query_params.multi_items(), settings.url_signing_key
        )

    variant = f"w{width or 0}-q{quality or 0}{steps.suffix()}" if converting else ""
    negotiated = negotiated or preset_negotiated
    last_modified = job.finished_at or job.updated_at
    headers = {
        "ETag": http_cache.strong_etag(job.id, name, job.finished_at, target.value, variant),
        "Last-Modified": http_cache.http_date(last_modified),
        "Cache-Control": _cache_control(request),
        "Accept-Ranges": "bytes",
    }
    if negotiated:
        headers["Vary"] = "Accept"
    if http_cache.not_modified(request.headers, headers["ETag"], last_modified):
        return Response(status_code=304, headers=headers)
    if chosen is not None and not converting:
        if direct := _direct_url(blobs, settings, chosen["key"]):
            redirect = {"Cache-Control": "no-store"} | ({"Vary": "Accept"} if negotiated else {})
            return RedirectResponse(direct, status_code=307, headers=redirect)
        if request.method == "HEAD":
            return _head(target, chosen["bytes"], headers)
        data = await stored_bytes(variants, chosen)
    else:
        data, target = await output_bytes(variants, job, output, target, width, quality, steps)
    if request.method == "HEAD":
        return _head(target, len(data), headers)
    return _ranged(request, data, imaging.media_type(target), headers, last_modified)


def _preset(request: Request, name: str) -> Preset:
    presets: dict[str, Preset] = request.app.state.presets
    found = presets.get(name)
    if found is None:
        known = ", ".join(sorted(presets)) or "none are configured (DARKROOM_PRESETS)"
        raise InvalidRequest(f"no preset named {name!r}; presets: {known}", code="unknown_preset")
    return found


def _head(fmt: imaging.OutputFormat, size: int, headers: dict[str, str]) -> Response:
    return Response(
        media_type=imaging.media_type(fmt), headers={**headers, "Content-Length": str(size)}
    )


def _ranged(
    request: Request, data: bytes, media_type: str, headers: dict[str, str], last_modified: float
) -> Response:
    """``data`` whole, or the one byte range the request asks for (206), or 416."""
    wanted: http_cache.ByteRange | None = None
    if http_cache.if_range_holds(request.headers, headers["ETag"], last_modified):
        try:
            wanted = http_cache.byte_range(request.headers.get("range"), len(data))
        except http_cache.Unsatisfiable:
            problem = f"the range asked for starts past the output's {len(data)} bytes"
            return JSONResponse(
                error_body("range_not_satisfiable", problem),
                status_code=416,
                headers={**headers, "Content-Range": f"bytes */{len(data)}"},
            )
    if wanted is None:
        return Response(content=data, media_type=media_type, headers=headers)
    return Response(
        content=data[wanted.first : wanted.last + 1],
        status_code=206,
        media_type=media_type,
        headers={**headers, "Content-Range": wanted.content_range(len(data))},
    )


def _cache_control(request: Request) -> str:
    """Outputs never change: cached for a year, without revalidation; by shared caches
    too, except answers to a request that sent an API key (DARKROOM_AUTH=keys), which a
    cache could otherwise hand to anyone asking for the URL."""
    keyed = "authorization" in request.headers or "x-api-key" in request.headers
    if keyed and request.app.state.access.mode == "keys":
        return http_cache.PRIVATE_IMMUTABLE
    return http_cache.IMMUTABLE


def _direct_url(blobs: BlobsDep, settings: SettingsDep, key: str) -> str | None:
    """Where the client can fetch the stored output itself, when configured: under the
    store's public base URL, or a presigned URL of the store."""
    if settings.storage_public_url:
        return blobs.public_url(key, settings.storage_public_url)
    if settings.storage_presign_s > 0:
        return blobs.presigned_url(key, settings.storage_presign_s)
    return None
