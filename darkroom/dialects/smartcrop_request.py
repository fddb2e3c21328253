"""Seed 000's POST /thumbnail (the smartcrop dialect): its body, read as the service read
it, and the job made of it: the sources, the one output, and the labels that keep what
darkroom's job does not (the base URL, the mode, the server paths skipped)."""

from __future__ import annotations

import math
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from darkroom.config import Settings
from darkroom.dialects.base import BadRequest
from darkroom.jobs.errors import NotFound, ServiceError
from darkroom.jobs.model import Job
from darkroom.jobs.sources import (
    INVALID_PATH,
    IncomingSource,
    decode_base64,
    resolve_input_path,
)
from darkroom.jobs.spec import OutputIn

JPEG = "jpeg"
OUTPUT = "thumbnail"
BASE_LABEL = "smartcrop.base"  # the absolute base URL the job was submitted to
MODE_LABEL = "smartcrop.mode"
PAIR_MODE = "pair-smart-thumb"  # what the service called its chapter cover
SINGLE_MODE = "single"
DEFAULT_QUALITY = 95
DEFAULT_RATIO = 16 / 9
RATIO_RANGE = (0.05, 20.0)
ANALYSIS_RANGE = (32, 4096)
# Server paths that named no file: how many (a label), and the first MAX_LISTED of them,
# one label each (a label's value holds 256 characters; a job has at most 32 labels).
SKIPPED_LABEL = "smartcrop.skipped"
MAX_LISTED = 20
LABEL_VALUE_MAX = 256


class ImageFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    filename: str | None = None
    content_base64: str | None = Field(
        None, description="Standard or URL-safe base64, padded or not, or a data: URI"
    )


class ThumbnailIn(BaseModel):
    """The fields the service used are typed strictly, as its JSON decoding was ("85" is
    not a number). Those it decoded and then ignored take any value and are never
    refused: darkroom reads the ones it uses where they make sense, else its default."""

    model_config = ConfigDict(strict=True, extra="ignore")

    image_path: str | None = Field(None, description="A file inside DARKROOM_INPUT_ROOT")
    image_paths: list[str] | None = Field(
        None, description="Files inside DARKROOM_INPUT_ROOT; those missing are skipped"
    )
    image_files: list[ImageFile] | None = Field(None, description="Images sent inline")
    return_candidates: bool | None = Field(None, description="List the candidate pages")
    compose_mode: Any = Field(
        None,
        description='"single": a smart crop of the first image (the default for one '
        "image); anything else: the pair cover for two or more images",
    )
    preferred_ratio: Any = Field(
        None,
        description='single mode: the crop\'s aspect, "16:9" or a number (0.05-20); '
        "anything else: 16:9",
    )
    max_analysis_size: Any = Field(
        None,
        description="Longest side analysed, clamped to 32-4096; 0, negative or not a "
        "number: darkroom's default",
    )
    apply_crop: Any = Field(None, description="Accepted, ignored: the output is always cropped")
    quality: int | None = Field(
        None, description="JPEG quality of the cover; 0, negative or unset: 95; above 100: 100"
    )
    webhook_url: str | None = Field(None, description="POSTed the job when it finishes")
    output_path: Any = Field(None, description="Accepted, ignored: darkroom stores it")


# -- reading the request ----------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A JSON number (not a boolean) as a float; anything else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _ratio(value: Any) -> float:
    """preferred_ratio, as the service's crop read it: "16:9", "1.5" or 1.5, positive;
    anything else (the service's queue ignored it): 16:9. Clamped to 0.05-20."""
    ratio: float | None = None
    if isinstance(value, str):
        text = value.strip()
        try:
            if ":" in text:
                w, h = (float(part) for part in text.split(":", 1))
                ratio = w / h if w > 0 and h > 0 else None
            elif text:
                ratio = float(text)
        except (ValueError, ZeroDivisionError):
            ratio = None
    else:
        ratio = _number(value)
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return DEFAULT_RATIO
    low, high = RATIO_RANGE
    return min(high, max(low, ratio))


def _analysis_size(value: Any) -> int | None:
    """max_analysis_size: a positive number, clamped to 32-4096; else darkroom's default."""
    number = _number(value)
    if number is None or number < 1:
        return None
    low, high = ANALYSIS_RANGE
    return min(high, max(low, int(number)))


def _quality(value: int | None) -> int:
    """quality: 0, negative or unset: 95; above 100: 100 (the service accepted any
    integer, and its earlier crop path read one so)."""
    if value is None or value <= 0:
        return DEFAULT_QUALITY
    return min(100, value)


def check_webhook(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise BadRequest("webhook_url is invalid") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise BadRequest("webhook_url must use http or https")
    if not parts.hostname:
        raise BadRequest("webhook_url host is required")
    return url.strip()


def _server_paths(body: ThumbnailIn, root: Path | None) -> tuple[list[str], list[str]]:
    """(found, skipped): image_paths, then image_path unless it repeats one of them,
    split into the files found inside ``root`` and the paths that name no file, which the
    service dropped as well. A path outside ``root`` (or any path with no root) is still
    refused (403), before darkroom looks for it."""
    paths = [p.strip() for p in body.image_paths or [] if p.strip()]
    single = (body.image_path or "").strip()
    if single and posixpath.normpath(single) not in {posixpath.normpath(p) for p in paths}:
        paths.append(single)
    found: list[str] = []
    skipped: list[str] = []
    for path in paths:
        try:
            resolve_input_path(root, path)
        # NotFound: no such file (or not a file); invalid_path: a name the system cannot
        # look up (too long, a NUL, a symbolic link loop), which the service's stat
        # dropped as well. Outside the root stays refused.
        except NotFound:
            skipped.append(path)
        except ServiceError as exc:
            if exc.code != INVALID_PATH:
                raise
            skipped.append(path)
        else:
            found.append(path)
    return found, skipped


def read_sources(
    body: ThumbnailIn, root: Path | None, *, max_count: int, max_bytes: int
) -> tuple[list[IncomingSource], list[str]]:
    """The sources, server paths first, then the inline files (at most ``max_count``, of
    at most ``max_bytes`` each); and the skipped paths."""
    paths, skipped = _server_paths(body, root)
    files = body.image_files or []
    for index, item in enumerate(files):
        if not (item.content_base64 or "").strip():
            raise BadRequest(f"image_files[{index}].content_base64 is required")
    if not paths and not files:
        raise BadRequest("image_paths, image_path, or image_files is required")
    if len(files) > max_count:
        raise BadRequest(f"image_files exceeds max count ({max_count})")
    sources = [IncomingSource(path=path) for path in paths]
    for index, item in enumerate(files):
        try:
            data = decode_base64(item.content_base64 or "", max_bytes=max_bytes)
        except ServiceError as exc:
            if exc.status_code == 413:
                raise ServiceError(
                    f"image_files[{index}] exceeds max bytes ({max_bytes})",
                    code="payload_too_large",
                    status_code=413,
                ) from exc
            raise BadRequest(f"image_files[{index}] decode failed: {exc.message}") from exc
        name = (item.filename or "").strip() or f"upload-{index + 1:03d}"
        sources.append(IncomingSource(data=data, filename=name))
    return sources, skipped


def job_output(body: ThumbnailIn, count: int, settings: Settings) -> tuple[OutputIn, str]:
    """The job's one output and its mode. Never refuses: every value the service took
    gives a cover."""
    common: dict[str, Any] = {
        "name": OUTPUT,
        "format": JPEG,
        "quality": _quality(body.quality),
        "max_analysis_size": _analysis_size(body.max_analysis_size),
    }
    single = isinstance(body.compose_mode, str) and body.compose_mode.strip().lower() == "single"
    if count >= 2 and not single:
        pair = OutputIn(op="pair", return_candidates=bool(body.return_candidates), **common)
        return pair, PAIR_MODE
    width = settings.pair_width
    height = round(width / _ratio(body.preferred_ratio))
    cover = OutputIn(
        op="cover",
        width=width,
        height=min(settings.max_output_dimension, max(1, height)),
        gravity="auto",
        enlarge=True,  # the service's converter enlarged a small source to the cover
        **common,
    )
    return cover, SINGLE_MODE


def skipped_labels(skipped: list[str]) -> dict[str, str]:
    """How many paths were skipped, and the first MAX_LISTED of them, as labels."""
    if not skipped:
        return {}
    labels = {SKIPPED_LABEL: str(len(skipped))}
    for index, path in enumerate(skipped[:MAX_LISTED]):
        path = path.replace("\x00", "\ufffd")  # a label is a column: PostgreSQL refuses NUL
        if len(path) > LABEL_VALUE_MAX:
            path = path[: LABEL_VALUE_MAX - 1] + "…"
        labels[f"{SKIPPED_LABEL}.{index}"] = path
    return labels


def skipped_paths(job: Job) -> tuple[list[str], int]:
    """The skipped paths listed on ``job``, and how many were skipped in all."""
    try:
        count = int(job.labels.get(SKIPPED_LABEL, "0"))
    except ValueError:  # not a label this dialect wrote
        return [], 0
    listed = [job.labels.get(f"{SKIPPED_LABEL}.{i}", "") for i in range(min(count, MAX_LISTED))]
    return listed, count
