"""A finished job's output, as stored or converted on the fly: what the native outputs
route and the drop-in dialects serve."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial

from starlette.concurrency import run_in_threadpool

from darkroom import imaging
from darkroom.api.variants import Convert, Variants
from darkroom.blobs import BlobNotFound
from darkroom.jobs import keys
from darkroom.jobs.errors import Conflict, JobFailed, NotFinished, NotFound, from_image_error
from darkroom.jobs.model import Job
from darkroom.jobs.records import FormatRecord, OutputRecord
from darkroom.jobs.status import JobStatus


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


def stored_formats(output: OutputRecord) -> list[FormatRecord]:
    """The formats the output is stored in, in its order: each of its ``formats``, else
    its one."""
    listed = output.get("formats")
    if listed:
        return listed
    only: FormatRecord = {
        "format": output["format"],
        "key": output["key"],
        "width": output["width"],
        "height": output["height"],
        "frames": output["frames"],
        "bytes": output["bytes"],
    }
    if "quality" in output:
        only["quality"] = output["quality"]
    return [only]


def stored_as(output: OutputRecord, fmt: str) -> FormatRecord | None:
    """The output as stored in ``fmt``; None when it is not stored in that format."""
    return next((each for each in stored_formats(output) if each["format"] == fmt), None)


async def stored_bytes(variants: Variants, stored: FormatRecord) -> bytes:
    """A stored format's bytes; NotFound when they are gone."""
    try:
        return await run_in_threadpool(variants.blobs.get, stored["key"])
    except BlobNotFound as exc:
        raise NotFound("the output is no longer stored", code="artifacts_deleted") from exc


@dataclass(frozen=True)
class VariantSteps:
    """The output operations a variant may also ask for (docs/api.md, "Variants"), named
    as RenderSpec names them."""

    rotate: int = 0
    flip: imaging.Flip | None = None
    blur: float | None = None
    sharpen: float | None = None
    dpr: float = 1.0
    progressive: bool = False
    lossless: bool = False

    def suffix(self) -> str:
        """What sets the variant apart in its name: each step asked for, in a fixed order."""
        asked = {
            "r": self.rotate or None,
            "f": self.flip.value[0] if self.flip else None,
            "b": self.blur,
            "s": self.sharpen,
            "d": self.dpr if self.dpr != 1 else None,
            "p": 1 if self.progressive else None,
            "l": 1 if self.lossless else None,
        }
        return "".join(
            f"-{key}{value:g}" if isinstance(value, float) else f"-{key}{value}"
            for key, value in asked.items()
            if value is not None
        )


NO_STEPS = VariantSteps()


async def output_bytes(
    variants: Variants,
    job: Job,
    output: OutputRecord,
    target: str | None = None,
    width: int | None = None,
    quality: int | None = None,
    steps: VariantSteps = NO_STEPS,
) -> tuple[bytes, imaging.OutputFormat]:
    """The output's bytes: as stored (in ``target`` format, when it is stored in several
    and that is one of them), or in ``target`` format (jpeg, png, webp, avif, gif),
    ``width`` wide (aspect kept, never enlarged) or at ``quality``, with ``steps``,
    converted from its first format. Converted variants are made as api/variants.py says
    (Busy when this process is at its conversions' limit) and kept in the variant cache."""
    stored_format = imaging.OutputFormat(output["format"])
    limits = variants.limits
    if width is not None and width * steps.dpr > limits.max_output_dimension:
        raise from_image_error(
            imaging.OutputTooLarge(f"width is limited to {limits.max_output_dimension} px")
        )
    as_stored = stored_as(output, target or stored_format)
    if as_stored is not None and width is None and quality is None and steps == NO_STEPS:
        return await stored_bytes(variants, as_stored), imaging.OutputFormat(as_stored["format"])
    fmt = imaging.OutputFormat(target or stored_format)
    op = imaging.Operation.CONVERT if width is None else imaging.Operation.THUMBNAIL
    # the steps' fields are RenderSpec's own names
    spec = imaging.RenderSpec(op, width=width, format=fmt, quality=quality, **asdict(steps))
    name = f"w{width or 0}-q{quality or 0}{steps.suffix()}"
    return await _variant(variants, job, output, name, fmt, partial(_render_one, spec, limits)), fmt


async def resized_output(
    variants: Variants,
    job: Job,
    output: OutputRecord,
    target: str,
    width: int,
    height: int,
    quality: int,
) -> bytes:
    """The output resized to exactly ``width`` x ``height``, smaller or larger (a
    dialect whose system enlarged), in ``target`` format; a variant like any conversion.
    Raises NotFound when the output is gone, Busy, and the image errors of a conversion
    that fails."""
    limits = variants.limits
    if max(width, height) > limits.max_output_dimension:
        raise from_image_error(
            imaging.OutputTooLarge(f"sides are limited to {limits.max_output_dimension} px")
        )
    fmt = imaging.OutputFormat(target)
    spec = imaging.RenderSpec(
        imaging.Operation.RESIZE,
        width=width,
        height=height,
        format=fmt,
        quality=quality,
        enlarge=True,
    )
    name = f"w{width}x{height}-q{quality}"
    return await _variant(variants, job, output, name, fmt, partial(_render_one, spec, limits))


def _render_one(
    spec: imaging.RenderSpec, limits: imaging.Limits, original: imaging.ImageInput
) -> imaging.Rendered:
    return imaging.render(original, [spec], limits)[0]


async def _variant(
    variants: Variants,
    job: Job,
    output: OutputRecord,
    name: str,
    fmt: imaging.OutputFormat,
    make: Convert,
) -> bytes:
    """The output made again by ``make`` (in ``fmt``), kept as variant ``name``."""
    key = keys.variant_key(job.id, output["name"], name, fmt)
    try:
        return await variants.get(key, output["key"], make)
    except BlobNotFound as exc:
        raise NotFound("the output is no longer stored", code="artifacts_deleted") from exc
    except imaging.ImageError as exc:
        raise from_image_error(exc) from exc


def media_type(fmt: str) -> str:
    """The media type of an output format's files."""
    return imaging.media_type(imaging.OutputFormat(fmt))
