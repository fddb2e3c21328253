"""Writing an 8-bit sRGB image in an output format, metadata stripped unless kept.

Encoder settings trade a little size for speed (see docs/imaging-engine.md):
AVIF effort 2 is about six times faster than libvips' default 4 for ~20 % more bytes;
WebP effort 0 takes a third of effort 4's time on thumbnail-sized outputs for ~8 % more
bytes at the same SSIM; larger outputs keep effort 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from darkroom.imaging.libvips import VImage
from darkroom.imaging.spec import OutputFormat
from darkroom.imaging.transform import page_height

DEFAULT_QUALITY: dict[OutputFormat, int] = {
    OutputFormat.JPEG: 85,
    OutputFormat.WEBP: 80,
    OutputFormat.AVIF: 60,
}
PNG_COMPRESSION = 3  # zlib level; PNG and GIF ignore quality
WEBP_EFFORT = 4
WEBP_EFFORT_SMALL = 0  # up to SMALL_OUTPUT_PIXELS per frame
SMALL_OUTPUT_PIXELS = 640 * 640
AVIF_EFFORT = 2
GIF_EFFORT = 4
_JPEG_BACKGROUND = 255.0  # transparency is flattened onto white


@dataclass(frozen=True)
class EncodeOptions:
    format: OutputFormat
    quality: int | None = None  # None: the format's default
    keep_metadata: bool = False
    keep_icc: bool = False
    progressive: bool = False
    lossless: bool = False
    max_bytes: int | None = None
    background: tuple[int, int, int, int] | None = None  # what JPEG flattens alpha onto


@dataclass(frozen=True)
class Encoded:
    data: bytes
    quality: int | None  # the quality chosen to meet max_bytes; None otherwise


def encode_output(image: VImage, options: EncodeOptions) -> Encoded:
    """``image`` written as ``options`` say."""
    return Encoded(
        encode(image, options.format, options.quality, options.keep_metadata), quality=None
    )


def encode(image: VImage, fmt: OutputFormat, quality: int | None, keep_metadata: bool) -> bytes:
    keep = "all" if keep_metadata else "none"
    q = quality if quality is not None else DEFAULT_QUALITY.get(fmt, 0)
    match fmt:
        case OutputFormat.JPEG:
            if image.hasalpha():
                image = image.flatten(background=[_JPEG_BACKGROUND] * (image.bands - 1))
            written = image.jpegsave_buffer(Q=q, optimize_coding=True, keep=keep)
        case OutputFormat.PNG:
            written = image.pngsave_buffer(compression=PNG_COMPRESSION, keep=keep)
        case OutputFormat.WEBP:
            small = image.width * page_height(image) <= SMALL_OUTPUT_PIXELS
            effort = WEBP_EFFORT_SMALL if small else WEBP_EFFORT
            written = image.webpsave_buffer(Q=q, effort=effort, keep=keep)
        case OutputFormat.AVIF:
            written = image.heifsave_buffer(
                Q=q, compression="av1", effort=AVIF_EFFORT, bitdepth=8, keep=keep
            )
        case OutputFormat.GIF:
            written = image.gifsave_buffer(effort=GIF_EFFORT, keep=keep)
    return bytes(written)
