"""Opening a source for decoding, with the cheapest shrink-on-load the output allows."""

from __future__ import annotations

from typing import Any

from darkroom.imaging.errors import CorruptImage, DamagedData
from darkroom.imaging.formats import LOADERS
from darkroom.imaging.header import Header
from darkroom.imaging.libvips import VImage, open_image
from darkroom.imaging.loaders.heif import decode_heif
from darkroom.imaging.loaders.pillow_formats import PILLOW_FORMATS, decode_with_pillow
from darkroom.imaging.loaders.svg import open_svg
from darkroom.imaging.pillow_jpeg import decode_jpeg
from darkroom.imaging.source import ImageInput

_JPEG_SHRINKS = (8, 4, 2)  # libjpeg decodes straight to 1/8, 1/4 or 1/2 size (DCT scaling)


def open_source(
    source: ImageInput,
    header: Header,
    scale: float,
    all_frames: bool,
    keep_metadata: bool,
    *,
    strict: bool = True,
) -> VImage:
    """An image at least ``scale`` of the stored size on each side, in stored orientation.

    JPEG uses the largest DCT shrink that keeps that size (like Pillow's ``draft``),
    decoded by Pillow into memory when small enough (see pillow_jpeg), else by libvips;
    WebP scales while decoding and SVG is rasterised at ``scale``; HEIF (pillow-heif,
    EXIF and XMP kept with ``keep_metadata``), BMP and ICO (Pillow) decode whole into
    memory; other formats decode at full size, streamed. libvips decodes lazily and
    sequentially; truncated or damaged data fails when pixels are computed instead of
    decoding as grey. A JPEG's ``keep_metadata`` needs libvips' decoder, which carries
    EXIF and XMP along.

    A JPEG whose scan stops early (cut short, then given an end marker) only makes
    libjpeg *warn*, and fill the rest with grey; ``strict`` makes libvips fail on
    libjpeg's warnings so that it fails instead (CorruptImage, DamagedData when the
    warning was about the scan). A warning about something else (stray bytes between
    segments, an odd JFIF version) fails a strict decode too: callers then decode again
    with ``strict=False`` (``retry_leniently``).
    """
    if header.format == "heif":
        return decode_heif(source, header, keep_metadata)
    if header.format in PILLOW_FORMATS:
        return decode_with_pillow(source, header)
    if header.format == "svg":
        return open_svg(source, scale)
    options: dict[str, Any] = {"access": "sequential", "fail_on": "truncated"}
    if header.page is not None:
        options["page"] = header.page
    elif all_frames:
        options["n"] = -1
    if header.format == "jpeg":
        if strict:
            options["fail_on"] = "warning"
        shrink = jpeg_shrink(scale)
        if not keep_metadata and (decoded := decode_jpeg(source, header, shrink)) is not None:
            return decoded
        if shrink > 1:
            options["shrink"] = shrink
    elif header.format == "webp" and scale < 1:
        options["scale"] = scale
    return open_image(source, LOADERS[header.format], **options)


def retry_leniently(header: Header, exc: Exception) -> bool:
    """Whether a strict decode of this source that failed with ``exc`` is worth one more
    try with ``strict=False``: a JPEG that failed for something other than damaged scan
    data, such as a libjpeg warning about stray bytes between two segments, which real
    files carry and which a strict decode refuses as well. A damaged scan stays corrupt;
    a real error fails the second try too."""
    return (
        header.format == "jpeg"
        and isinstance(exc, CorruptImage)
        and not isinstance(exc, DamagedData)
    )


def decoder_pixels(header: Header, scale: float, all_frames: bool) -> int:
    """How many pixels the decoder produces for ``open_source`` (before any resize)."""
    pixels = header.stored.pixels * (header.frames if all_frames else 1)
    if header.format == "jpeg":
        return pixels // jpeg_shrink(scale) ** 2
    if header.format == "webp":
        return int(pixels * min(1.0, scale) ** 2)
    if header.format == "svg":
        return int(pixels * scale**2)
    return pixels


def jpeg_shrink(scale: float) -> int:
    """Largest DCT shrink factor whose output still has ``scale`` of each side."""
    for shrink in _JPEG_SHRINKS:
        if shrink * scale <= 1.0 + 1e-9:
            return shrink
    return 1
