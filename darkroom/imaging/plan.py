"""Turning a RenderSpec into a checked plan before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass

from darkroom.imaging.errors import ImageTooLarge, InvalidSpec, OutputTooLarge
from darkroom.imaging.formats import ANIMATED_OUTPUTS, ANIMATED_SOURCES, default_output
from darkroom.imaging.geometry import Geometry, plan_geometry
from darkroom.imaging.probe import Header
from darkroom.imaging.spec import (
    DEFAULT_ANALYSIS_SIZE,
    SMART_GRAVITIES,
    Gravity,
    Limits,
    Operation,
    OutputFormat,
    RenderSpec,
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

    @property
    def smart(self) -> bool:
        """The crop is placed by looking at the pixels, after decoding."""
        return self.gravity in SMART_GRAVITIES

    @property
    def scale(self) -> float:
        """Fraction of each source side needed; never above 1 (upscaling is done last)."""
        return min(1.0, self.geometry.scale)


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
    if max(geometry.output) > limits.max_output_dimension:
        width, height = geometry.output
        raise OutputTooLarge(
            f"{width}x{height} has a side over {limits.max_output_dimension} pixels"
        )
    animated = header.frames > 1 and header.format in ANIMATED_SOURCES and fmt in ANIMATED_OUTPUTS
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
    )
