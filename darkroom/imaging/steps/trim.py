"""Trimming: the part of a source left once borders of one colour are cut away."""

from __future__ import annotations

from darkroom.imaging.geometry import Box
from darkroom.imaging.libvips import VImage
from darkroom.imaging.transform import displayed_rgb, first_frame


def trimmed_area(
    sample: VImage, orientation: int, area: Box, view_width: int, threshold: float
) -> Box:
    """The part of ``area`` (in the view's pixels, ``view_width`` wide) left once its
    borders are cut: those within ``threshold`` of the colour of its top-left pixel.
    ``sample`` is a decode of the source (stored orientation, any scale), turned to the
    view by ``orientation``. A picture all of one colour keeps its whole area."""
    view = displayed_rgb(first_frame(sample).copy_memory(), orientation, background=255)
    scale = int(view.width) / view_width
    left, top = int(area.left * scale), int(area.top * scale)
    width = max(1, min(int(view.width) - left, round(area.width * scale)))
    height = max(1, min(int(view.height) - top, round(area.height * scale)))
    part = view.crop(left, top, width, height)
    corner = part.getpoint(0, 0)
    found = part.find_trim(threshold=threshold, background=corner)
    x, y, w, h = (int(v) for v in found)
    if w <= 0 or h <= 0:
        return area
    return Box(area.left + x / scale, area.top + y / scale, w / scale, h / scale)
