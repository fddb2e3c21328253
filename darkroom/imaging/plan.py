"""Turning a RenderSpec into a checked plan before any pixel is decoded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from darkroom.imaging.encode import EncodeOptions
from darkroom.imaging.errors import ImageTooLarge, InvalidSpec, OutputTooLarge
from darkroom.imaging.formats import (
    ANIMATED_OUTPUTS,
    ANIMATED_SOURCES,
    VECTOR_SOURCES,
    default_output,
)
from darkroom.imaging.geometry import Box, Geometry, Size, plan_geometry, round_half_up
from darkroom.imaging.probe import Header, header_from_facts
from darkroom.imaging.spec import (
    DEFAULT_ANALYSIS_SIZE,
    SMART_GRAVITIES,
    Fit,
    Gravity,
    Limits,
    Operation,
    OutputFormat,
    Region,
    RenderSpec,
    SourceFacts,
)
from darkroom.imaging.steps.orient import combined, turned_box, user_turn


@dataclass(frozen=True)
class OutputPlan:
    op: Operation
    geometry: Geometry  # in the view's displayed pixels
    format: OutputFormat
    quality: int | None  # None: the format's default
    animated: bool  # every source frame goes into the output
    keep_metadata: bool
    gravity: Gravity = Gravity.CENTRE
    focus: tuple[float, float] | None = None
    max_analysis_size: int = DEFAULT_ANALYSIS_SIZE
    encoding: EncodeOptions | None = None  # None: the format's defaults
    # The source as this output shows it: the header with EXIF orientation, rotate and
    # flip composed into one orientation (steps/orient.py). Geometry is in its pixels.
    view: Header | None = None
    area: Box | None = None  # the region cut first, in the view's pixels; None: all of it
    spec: RenderSpec | None = None

    def replanned(self, area: Box) -> Geometry:
        """The geometry within ``area`` of the view (a trimmed region, known once decoded)."""
        assert self.spec is not None
        return _geometry(self.spec, self.op, self.gravity, area)

    @property
    def smart(self) -> bool:
        """The crop is placed by looking at the pixels, after decoding."""
        return self.gravity in SMART_GRAVITIES

    @property
    def trims(self) -> bool:
        """Its region is found by looking at the pixels (trim), after decoding."""
        return self.spec is not None and self.spec.trim is not None

    @property
    def scale(self) -> float:
        """Fraction of each source side needed; never above 1 (upscaling is done last),
        but for a drawing (SVG), rasterised at the size it is shown. A trimmed output's
        region is known only once decoded: it takes the whole decode."""
        if self.trims:
            return 1.0
        if self.view is not None and self.view.format in VECTOR_SOURCES:
            return self.geometry.scale
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


def check_outputs(
    facts: SourceFacts, specs: Sequence[RenderSpec], limits: Limits, page: int | None = None
) -> None:
    """Raise what ``render`` would raise from the header alone for ``specs`` on the source
    that ``probe`` described as ``facts``: ImageTooLarge, OutputTooLarge or InvalidSpec.
    Decodes nothing: for refusing a request before it is queued."""
    header = header_from_facts(facts, limits, page)
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
    turn = user_turn(spec.rotate, spec.flip)
    view = replace(header, orientation=combined(header.orientation, turn))
    area = Box.whole(view.displayed)
    if spec.region is not None:
        area = turned_box(_region_box(spec.region, header.displayed), header.displayed, turn)
    geometry = _geometry(spec, op, gravity, area)
    animated = (
        header.frames > 1
        and header.page is None
        and header.format in ANIMATED_SOURCES
        and fmt in ANIMATED_OUTPUTS
    )
    check_output_size(geometry.made, limits, frames=header.frames if animated else 1)
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
        view=view,
        area=area if spec.region is not None else None,
        spec=spec,
        encoding=EncodeOptions(
            format=fmt,
            quality=spec.quality,
            keep_metadata=spec.keep_metadata,
            keep_icc=spec.keep_icc,
            progressive=spec.progressive,
            lossless=spec.lossless,
            effort=spec.effort,
            max_bytes=spec.max_bytes,
            background=spec.background,
        ),
    )


def _geometry(spec: RenderSpec, op: Operation, gravity: Gravity, area: Box) -> Geometry:
    """The op's geometry within ``area`` of the view, its sizes multiplied by ``dpr``."""
    width, height = (
        None if side is None else round_half_up(side * spec.dpr)
        for side in (spec.width, spec.height)
    )
    within = Size(max(1, round_half_up(area.width)), max(1, round_half_up(area.height)))
    planned = plan_geometry(
        op, width, height, gravity, within, enlarge=spec.enlarge, pad=spec.fit is Fit.PAD
    )
    scale_x, scale_y = area.width / within.width, area.height / within.height
    region = planned.region.scaled(scale_x, scale_y)
    return Geometry(region, planned.output, planned.canvas).moved(area.left, area.top)


def _region_box(region: Region, displayed: Size) -> Box:
    """The region, checked to lie within the displayed source."""
    if region.x + region.width > displayed.width or region.y + region.height > displayed.height:
        raise InvalidSpec(
            f"region {region.width}x{region.height} at ({region.x}, {region.y}) is not inside "
            f"the {displayed.width}x{displayed.height} source"
        )
    return Box(region.x, region.y, region.width, region.height)
