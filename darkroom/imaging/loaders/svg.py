"""SVG, rasterised by libvips (librsvg) at the scale the outputs need.

Nothing outside the document is ever read: librsvg resolves a reference (``<image href>``,
``<use xlink:href>``, XInclude, CSS ``url()``) only against the document's base URL, and a
document loaded from memory or from a VipsSource has none, so every ``file:`` and ``http:``
reference is refused; ``data:`` URLs are inside the document and still work.
(libvips' ``svgload`` given a *filename* would set that base: it is never used.) Bounds:
the document's bytes (MAX_SVG_BYTES), its declared size (the source pixel limits, checked
from the header at scale 1), librsvg's own limits on elements and references, and the
worker's job timeout for a drawing slow to rasterise.
"""

from __future__ import annotations

from typing import Any

from darkroom.imaging.errors import CorruptImage, ImageTooLarge, UnsupportedImage
from darkroom.imaging.geometry import Size
from darkroom.imaging.header import Header
from darkroom.imaging.libvips import VImage, libvips_errors, open_image
from darkroom.imaging.source import ImageInput, read_head

MAX_SVG_BYTES = 5 * 1024 * 1024


def svg_header(source: ImageInput) -> Header:
    """The size the SVG declares (width and height, else its viewBox), in pixels at 72 dpi."""
    image = _load(source, access="sequential")
    return Header(
        format="svg",
        stored=Size(int(image.width), int(image.height)),
        orientation=1,
        has_icc_profile=False,
        frames=1,
    )


def open_svg(source: ImageInput, scale: float) -> VImage:
    """The drawing rasterised at ``scale`` of its declared size, 8-bit sRGB with alpha."""
    return _load(source, scale=scale, access="sequential")


def _load(source: ImageInput, **options: Any) -> VImage:
    document = read_head(source, MAX_SVG_BYTES + 1)
    if len(document) > MAX_SVG_BYTES:
        raise ImageTooLarge(f"an SVG document is at most {MAX_SVG_BYTES} bytes")
    try:
        with libvips_errors(CorruptImage, "unreadable svg"):
            return open_image(document, "svgload_source", **options)
    except CorruptImage as exc:
        if "bad dimensions" in str(exc):
            raise UnsupportedImage(
                "an SVG with no size: give the svg element a width and height, or a viewBox"
            ) from exc
        raise
