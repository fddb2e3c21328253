"""Placing a watermark image on an output."""

from __future__ import annotations

from darkroom.imaging.libvips import VImage
from darkroom.imaging.spec import WatermarkSpec


def apply_watermark(image: VImage, spec: WatermarkSpec) -> VImage:
    """``image`` (8-bit sRGB, one frame or several stacked) with ``spec``'s image on it."""
    raise NotImplementedError("watermarks are being built")
