"""Where a cover crop sits: by a fixed gravity (decided from the header), or by looking
at the pixels (darkroom.smart), on a copy no larger than ``max_analysis_size``."""

from __future__ import annotations

from typing import Any

from darkroom.imaging.geometry import Box, round_half_up
from darkroom.imaging.libvips import VImage
from darkroom.imaging.plan import OutputPlan
from darkroom.imaging.probe import Header
from darkroom.imaging.spec import Crop, Operation
from darkroom.imaging.transform import displayed_rgb, first_frame, page_height
from darkroom.smart import Analyzer, SmartMethod


def analysis_scale(header: Header, plan: OutputPlan) -> float:
    """The share of each stored side an analysis copy needs."""
    return min(1.0, plan.max_analysis_size / max(header.stored))


def fixed_crop(plan: OutputPlan, region: Box) -> Crop | None:
    """The crop a cover output reports when its gravity is fixed; None for other ops."""
    if plan.smart or plan.op is not Operation.COVER:
        return None
    return _crop(region, plan.gravity.value, None)


def smart_region(
    decoded: VImage,
    view: Header,
    plan: OutputPlan,
    region: Box,
    within: Box,
    analyzer: Analyzer,
) -> tuple[Box, Crop]:
    """The cover ``region``'s size placed within ``within`` (the part of the ``view`` the
    output uses) by the plan's smart gravity, looking at ``decoded`` (stored orientation,
    any scale), and the crop to report."""
    pixels = analysis_pixels(decoded, view, plan.max_analysis_size)
    rows, cols = pixels.shape[:2]
    displayed = view.displayed
    sx, sy = cols / displayed.width, rows / displayed.height
    left0 = min(cols - 1, round_half_up(within.left * sx))
    top0 = min(rows - 1, round_half_up(within.top * sy))
    right = max(left0 + 1, min(cols, round_half_up((within.left + within.width) * sx)))
    bottom = max(top0 + 1, min(rows, round_half_up((within.top + within.height) * sy)))
    pixels = pixels[top0:bottom, left0:right]
    rows, cols = pixels.shape[:2]
    width = max(1, min(cols, round_half_up(region.width * sx)))
    height = max(1, min(rows, round_half_up(region.height * sy)))
    choice = analyzer.choose(pixels, width, height, SmartMethod(plan.gravity.value), plan.focus)
    left = within.left + min(max(choice.left / sx, 0.0), within.width - region.width)
    top = within.top + min(max(choice.top / sy, 0.0), within.height - region.height)
    placed = Box(left, top, region.width, region.height)
    return placed, _crop(placed, choice.method, choice.confidence)


def analysis_pixels(decoded: VImage, header: Header, max_size: int) -> Any:
    """The picture as displayed, at most ``max_size`` on its longer side, 8-bit RGB (a
    NumPy array; NumPy is imported here, by the processes that make smart crops only)."""
    import numpy as np

    image = first_frame(decoded)
    shrink = min(1.0, max_size / max(int(image.width), page_height(image)))
    if shrink < 1.0:
        image = image.resize(shrink)
    image = displayed_rgb(image.copy_memory(), header.orientation, background=255)
    return np.ascontiguousarray(image.numpy()[..., :3], dtype=np.uint8)


def _crop(region: Box, method: str, confidence: float | None) -> Crop:
    return Crop(
        left=round_half_up(region.left),
        top=round_half_up(region.top),
        width=round_half_up(region.width),
        height=round_half_up(region.height),
        method=method,
        confidence=confidence,
    )
