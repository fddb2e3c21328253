"""Turning a RenderSpec into a checked plan before any pixel is decoded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from darkroom.imaging.encode import EncodeOptions
from darkroom.imaging.errors import ImageTooLarge, InvalidSpec, OutputTooLarge
from darkroom.imaging.formats import ANIMATED_OUTPUTS, ANIMATED_SOURCES, default_output
from darkroom.imaging.geometry import Geometry, Size, plan_geometry
from darkroom.imaging.probe import Header, header_from_facts
from darkroom.imaging.spec import (
    DEFAULT_ANALYSIS_SIZE,
    SMART_GRAVITIES,
    Gravity,
    Limits,
    Operation,
    OutputFormat,
    RenderSpec,
    SourceFacts,
)


@dataclass(frozen=True)
class OutputPlan:
    op: Operation
    geometry: Geometry
    format: OutputFormat
    quality: int | None  # None: the format's default
    animated: bool  # every source frame goes into the output
    keep_metadata: bool
    gravity: Gravity = Gravity.CENTRE
    focus: tuple[float, float] | None = None
    max_analysis_size: int = DEFAULT_ANALYSIS_SIZE
    encoding: EncodeOptions | None = None  # None: the format's defaults

    @property
    def smart(self) -> bool:
        """The crop is placed by looking at the pixels, after decoding."""
        return self.gravity in SMART_GRAVITIES

    @property
    def scale(self) -> float:
        """Fraction of each source side needed; never above 1 (upscaling is done last)."""
        return min(1.0, self.geometry.scale)


def check_output_size(size: Size, limits: Limits, *, frames: int = 1) -> None:
    """Refuse an output with a side over ``max_output_dimension``, or more pixels than
    ``max_output_pixels`` (an animated output: its pixels times its frames).

    The output's own size is what bounds the work of making it: resizing to it, holding
    it, encoding it. How much it enlarges the source does not matter on its own; a tiny
    source enlarged costs no more than a large source converted to the same size
    (docs/imaging-engine.md, "Bounds on outputs")."""
    width, height = size
    if max(size) > limits.max_output_dimension:
        raise OutputTooLarge(
            f"{width}x{height} has a side over {limits.max_output_dimension} pixels"
        )
    pixels = size.pixels * frames
    if pixels > limits.max_output_pixels:
        what = f"{width}x{height}" + (f" x {frames} frames" if frames > 1 else "")
        raise OutputTooLarge(f"{what} is {pixels} pixels, over {limits.max_output_pixels}")


def check_outputs(facts: SourceFacts, specs: Sequence[RenderSpec], limits: Limits) -> None:
    """Raise what ``render`` would raise from the header alone for ``specs`` on the source
    that ``probe`` described as ``facts``: ImageTooLarge, OutputTooLarge or InvalidSpec.
    Decodes nothing: for refusing a request before it is queued."""
    header = header_from_facts(facts, limits)
    for spec in specs:
        plan_output(spec, header, limits)


def plan_output(spec: RenderSpec, header: Header, limits: Limits) -> OutputPlan:
    try:
        op, gravity = Operation(spec.op), Gravity(spec.gravity)
        fmt = OutputFormat(spec.format) if spec.format else default_output(header.format)
    except ValueError as exc:
        raise InvalidSpec(str(exc)) from exc
    if op is Operation.PAIR:
        raise InvalidSpec("a pair is made from all of a job's pages together, not per page")
    if spec.quality is not None and not 1 <= spec.quality <= 100:
        raise InvalidSpec(f"quality must be 1..100, got {spec.quality}")
    geometry = plan_geometry(
        op, spec.width, spec.height, gravity, header.displayed, enlarge=spec.enlarge
    )
    animated = header.frames > 1 and header.format in ANIMATED_SOURCES and fmt in ANIMATED_OUTPUTS
    check_output_size(geometry.output, limits, frames=header.frames if animated else 1)
    if animated and header.stored.pixels * header.frames > limits.max_source_pixels:
        raise ImageTooLarge(
            f"{header.frames} frames of {header.stored.width}x{header.stored.height} "
            f"exceed {limits.max_source_pixels} pixels to animate"
        )
    if gravity is Gravity.FOCUS and spec.focus is None:
        raise InvalidSpec("gravity 'focus' needs a focal point")
    if spec.max_analysis_size < 32:
        raise InvalidSpec("max_analysis_size must be at least 32")
    return OutputPlan(
        op,
        geometry,
        fmt,
        spec.quality,
        animated,
        spec.keep_metadata,
        gravity,
        spec.focus,
        spec.max_analysis_size,
        encoding=EncodeOptions(
            format=fmt,
            quality=spec.quality,
            keep_metadata=spec.keep_metadata,
            keep_icc=spec.keep_icc,
            progressive=spec.progressive,
            lossless=spec.lossless,
            max_bytes=spec.max_bytes,
            background=spec.background,
        ),
    )
