"""Where an output's watermark image comes from, read within the watermark bounds.

A watermark's source is one of: a ``name`` configured in DARKROOM_WATERMARKS; a ``path``
under DARKROOM_INPUT_ROOT, with the rules of a path source; a ``blob``, the key of a source
or an output darkroom stored for a job (``jobs/<job id>/sources/<n>`` or
``jobs/<job id>/outputs/<file>``) whose owner is the submitting job's (docs/security.md).
Submission checks all of it (``check_watermarks``); the worker reads the image again for
each attempt (``watermark_specs``), and fails the job when it is gone by then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from darkroom import imaging
from darkroom.blobs import BlobNotFound, BlobStore
from darkroom.imaging.steps.watermark import MAX_WATERMARK_BYTES, check_watermark
from darkroom.jobs.errors import InvalidRequest, ServiceError, from_image_error
from darkroom.jobs.model import Job
from darkroom.jobs.sources import resolve_input_path
from darkroom.jobs.spec import OutputIn, WatermarkSourceIn
from darkroom.worker.fetch import FetchError

_BLOB_KINDS = frozenset({"sources", "outputs"})


class WatermarkUnavailable(Exception):
    """The watermark's image cannot be had; ``field``: the source's field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class WatermarkFiles:
    """What watermark sources are read from: the blob store, the input root, and the
    configured watermarks' files by name."""

    blobs: BlobStore
    input_root: Path | None
    named: Mapping[str, Path] = field(default_factory=dict)

    def read(self, source: WatermarkSourceIn) -> bytes:
        """The image's bytes, an image darkroom reads within the watermark bounds. Raises
        WatermarkUnavailable, or an ImageError about the image."""
        if source.name is not None:
            path = self.named.get(source.name)
            if path is None:
                raise WatermarkUnavailable("name", f"no watermark named {source.name!r}")
            data = _read_file(path, "name", f"the watermark {source.name!r}")
        elif source.path is not None:
            try:
                path = resolve_input_path(self.input_root, source.path)
            except ServiceError as exc:
                raise WatermarkUnavailable("path", exc.message) from exc
            data = _read_file(path, "path", source.path)
        else:
            assert source.blob is not None
            data = self._read_blob(source.blob)
        check_watermark(data)
        return data

    def _read_blob(self, key: str) -> bytes:
        missing = WatermarkUnavailable("blob", f"no stored blob {key!r}")
        if blob_job_id(key) is None:
            raise missing
        try:
            path = self.blobs.local_path(key)
            if path is not None:
                return _read_file(path, "blob", key)
            data = self.blobs.get(key)
        except (BlobNotFound, ValueError) as exc:
            raise missing from exc
        if len(data) > MAX_WATERMARK_BYTES:
            raise imaging.ImageTooLarge(f"a watermark is at most {MAX_WATERMARK_BYTES} bytes")
        return data


def blob_job_id(key: str) -> str | None:
    """The id of the job whose source or output ``key`` is; None for any other key."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "jobs" or parts[2] not in _BLOB_KINDS:
        return None
    if any(part in ("", ".", "..") or "\x00" in part for part in parts):
        return None
    return parts[1]


def check_watermarks(
    outputs: Sequence[OutputIn],
    files: WatermarkFiles,
    find_job: Callable[[str], Job | None],
    owner: str | None,
) -> None:
    """Refuse a job whose watermarks cannot be read: InvalidRequest (422) naming the field
    (``outputs[i].watermark.source.name``), or the image's own error (415 unsupported).
    A blob must belong to a job of ``owner`` (``find_job`` reads one) that still has its
    files; another owner's blob is refused as one that does not exist."""
    for index, out in enumerate(outputs):
        if out.watermark is None:
            continue
        where: list[Any] = ["outputs", index, "watermark"]
        if out.op is imaging.Operation.PAIR:
            raise _refusal(where, "a pair cover takes no watermark")
        source = out.watermark.source
        try:
            if source.blob is not None and not _owned(source.blob, find_job, owner):
                raise WatermarkUnavailable("blob", f"no stored blob {source.blob!r}")
            files.read(source)
        except WatermarkUnavailable as exc:
            raise _refusal([*where, "source", exc.field], exc.message) from exc
        except imaging.ImageError as exc:
            refused = from_image_error(exc)
            refused.message = f"{_dotted(where)}: {refused.message}"
            raise refused from exc


def watermark_specs(
    outputs: Sequence[OutputIn], files: WatermarkFiles
) -> list[imaging.WatermarkSpec | None]:
    """Each output's watermark for imaging, its image read (once for outputs that share
    one). Raises FetchError (source_unavailable) for an image that cannot be had any
    more, or an ImageError about the image."""
    images: dict[str, bytes] = {}
    specs: list[imaging.WatermarkSpec | None] = []
    for out in outputs:
        mark = out.watermark
        if mark is None:
            specs.append(None)
            continue
        where = mark.source.model_dump_json()
        if where not in images:
            images[where] = _read_for_worker(mark.source, files)
        specs.append(
            imaging.WatermarkSpec(
                image=images[where],
                gravity=mark.gravity,
                opacity=mark.opacity,
                scale=mark.scale,
                margin=mark.margin,
            )
        )
    return specs


def _read_for_worker(source: WatermarkSourceIn, files: WatermarkFiles) -> bytes:
    try:
        return files.read(source)
    except WatermarkUnavailable as exc:
        raise FetchError("source_unavailable", f"the watermark: {exc.message}") from exc
    except imaging.ImageError as exc:
        raise type(exc)(f"the watermark: {exc}") from exc


def _owned(key: str, find_job: Callable[[str], Job | None], owner: str | None) -> bool:
    job_id = blob_job_id(key)
    job = find_job(job_id) if job_id is not None else None
    return (
        job is not None
        and job.owner == owner
        and job.expired_at is None
        and not job.artifacts_deleted
    )


def _read_file(path: Path, field_name: str, shown: str) -> bytes:
    """At most MAX_WATERMARK_BYTES of the file (ImageTooLarge when it holds more)."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_WATERMARK_BYTES + 1)
    except OSError as exc:
        raise WatermarkUnavailable(field_name, f"cannot read {shown}") from exc
    if len(data) > MAX_WATERMARK_BYTES:
        raise imaging.ImageTooLarge(f"a watermark is at most {MAX_WATERMARK_BYTES} bytes")
    return data


def _refusal(loc: list[Any], message: str) -> InvalidRequest:
    dotted = _dotted(loc)
    return InvalidRequest(
        f"{dotted}: {message}",
        details=[{"loc": loc, "msg": message, "type": "watermark_unavailable"}],
    )


def _dotted(loc: Sequence[Any]) -> str:
    """["outputs", 0, "watermark"] as outputs[0].watermark."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text
