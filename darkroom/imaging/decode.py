"""Opening a source for decoding, with the cheapest shrink-on-load the output allows."""

from __future__ import annotations

from typing import Any

from darkroom.imaging.formats import LOADERS
from darkroom.imaging.libvips import VImage, open_image
from darkroom.imaging.probe import Header

_JPEG_SHRINKS = (8, 4, 2)  # libjpeg decodes straight to 1/8, 1/4 or 1/2 size (DCT scaling)


def open_source(data: bytes, header: Header, scale: float, all_frames: bool) -> VImage:
    """A lazy, sequentially decoded image at least ``scale`` of the stored size on each side.

    JPEG uses the largest DCT shrink that keeps that size (like Pillow's ``draft``) and
    WebP scales while decoding; other formats decode at full size, streamed. Truncated
    or damaged data fails when pixels are computed instead of decoding as grey.
    """
    options: dict[str, Any] = {"access": "sequential", "fail_on": "truncated"}
    if all_frames:
        options["n"] = -1
    if header.format == "jpeg":
        shrink = jpeg_shrink(scale)
        if shrink > 1:
            options["shrink"] = shrink
    elif header.format == "webp" and scale < 1:
        options["scale"] = scale
    return open_image(data, LOADERS[header.format], **options)


def jpeg_shrink(scale: float) -> int:
    """Largest DCT shrink factor whose output still has ``scale`` of each side."""
    for shrink in _JPEG_SHRINKS:
        if shrink * scale <= 1.0 + 1e-9:
            return shrink
    return 1
