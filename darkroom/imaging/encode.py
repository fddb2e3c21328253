"""Writing an 8-bit sRGB image in an output format, metadata stripped unless kept.

Encoder settings trade a little size for speed (see docs/imaging-engine.md):
AVIF effort 0 (libaom's fastest speed, 9) is five to seven times faster than effort 2 and
twenty-five times faster than libvips' default 4, at the same SSIM as effort 2 and 3-15 %
more bytes than it. WebP effort 0 takes a third of effort 4's time on thumbnail-sized
outputs for ~8 % more bytes at the same SSIM; larger outputs keep effort 4.

``max_bytes`` is met by a binary search on the quality, from the asked (or default)
quality down to MIN_QUALITY: at most 1 + ceil(log2(quality)) encodes, 8 for the defaults.
PNG and GIF have no quality to lower: an output over ``max_bytes`` is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from darkroom.imaging.errors import OutputTooLarge
from darkroom.imaging.libvips import VImage
from darkroom.imaging.spec import OutputFormat
from darkroom.imaging.transform import page_height

DEFAULT_QUALITY: dict[OutputFormat, int] = {
    OutputFormat.JPEG: 85,
    OutputFormat.WEBP: 80,
    OutputFormat.AVIF: 60,
}
LOSSY = frozenset(DEFAULT_QUALITY)
MIN_QUALITY = 1
PNG_COMPRESSION = 3  # zlib level; PNG and GIF ignore quality
WEBP_EFFORT = 4
WEBP_EFFORT_SMALL = 0  # up to SMALL_OUTPUT_PIXELS per frame
SMALL_OUTPUT_PIXELS = 640 * 640
WEBP_MAX_EFFORT = 6
AVIF_EFFORT = 0
GIF_EFFORT = 4
WHITE = (255, 255, 255, 255)  # what JPEG flattens transparency onto unless told


@dataclass(frozen=True)
class EncodeOptions:
    format: OutputFormat
    quality: int | None = None  # None: the format's default
    keep_metadata: bool = False
    keep_icc: bool = False
    progressive: bool = False  # JPEG, PNG and GIF; WebP and AVIF have no such mode
    lossless: bool = False  # WebP and AVIF; PNG and GIF always are, JPEG cannot be
    effort: int | None = None  # WebP (more than 6 counts as 6) and AVIF; None: the defaults
    max_bytes: int | None = None
    background: tuple[int, int, int, int] | None = None  # what JPEG flattens alpha onto


@dataclass(frozen=True)
class Encoded:
    data: bytes
    quality: int | None  # the quality a lossy encode used (max_bytes' choice); else None


def encode_output(image: VImage, options: EncodeOptions) -> Encoded:
    """``image`` written as ``options`` say. Raises OutputTooLarge when ``max_bytes``
    cannot be met."""
    fmt = options.format
    if fmt is OutputFormat.JPEG and image.hasalpha():
        image = _flattened(image, options.background or WHITE)
    lossy = fmt in LOSSY and not options.lossless
    quality = (options.quality or DEFAULT_QUALITY[fmt]) if lossy else None
    if options.max_bytes is None:
        return Encoded(_writer(image, options)(quality or 0), quality)
    if quality is None:
        data = _writer(image, options)(0)
        if len(data) > options.max_bytes:
            raise OutputTooLarge(
                f"the {fmt.value} output is {len(data)} bytes, over max_bytes "
                f"{options.max_bytes}, and {fmt.value} has no quality to lower"
            )
        return Encoded(data, None)
    # each try encodes the same pixels: compute them once
    return _within(_writer(image.copy_memory(), options), quality, options.max_bytes, fmt)


def encode(image: VImage, fmt: OutputFormat, quality: int | None, keep_metadata: bool) -> bytes:
    return encode_output(image, EncodeOptions(fmt, quality, keep_metadata)).data


def _within(
    write: Callable[[int], bytes], quality: int, max_bytes: int, fmt: OutputFormat
) -> Encoded:
    """The highest quality from ``quality`` down whose output fits in ``max_bytes``."""
    data = write(quality)
    if len(data) <= max_bytes:
        return Encoded(data, quality)
    smallest = len(data)
    fitting: Encoded | None = None
    low, high = MIN_QUALITY, quality - 1
    while low <= high:
        middle = (low + high) // 2
        data = write(middle)
        if len(data) <= max_bytes:
            fitting, low = Encoded(data, middle), middle + 1
        else:
            smallest, high = min(smallest, len(data)), middle - 1
    if fitting is None:
        raise OutputTooLarge(
            f"the {fmt.value} output is {smallest} bytes at quality {MIN_QUALITY}, "
            f"over max_bytes {max_bytes}"
        )
    return fitting


def _writer(image: VImage, options: EncodeOptions) -> Callable[[int], bytes]:
    """Writes ``image`` at a quality (ignored where the format has none)."""
    fmt = options.format
    keep = "all" if options.keep_metadata else "icc" if options.keep_icc else "none"
    saved: dict[str, object] = {"keep": keep}
    if options.keep_metadata or options.keep_icc:
        # The pixels are plain sRGB by now (transform.to_srgb): say so with its profile.
        saved["profile"] = _profile_name(image, fmt)

    def write(quality: int) -> bytes:
        match fmt:
            case OutputFormat.JPEG:
                written = image.jpegsave_buffer(
                    Q=quality, optimize_coding=True, interlace=options.progressive, **saved
                )
            case OutputFormat.PNG:
                written = image.pngsave_buffer(
                    compression=PNG_COMPRESSION, interlace=options.progressive, **saved
                )
            case OutputFormat.WEBP:
                small = image.width * page_height(image) <= SMALL_OUTPUT_PIXELS
                effort = WEBP_EFFORT_SMALL if small else WEBP_EFFORT
                if options.effort is not None:
                    effort = min(options.effort, WEBP_MAX_EFFORT)
                lossy = {} if options.lossless else {"Q": quality}
                written = image.webpsave_buffer(
                    effort=effort, lossless=options.lossless, **lossy, **saved
                )
            case OutputFormat.AVIF:
                lossy = {} if options.lossless else {"Q": quality}
                written = image.heifsave_buffer(
                    compression="av1",
                    effort=AVIF_EFFORT if options.effort is None else options.effort,
                    bitdepth=8,
                    lossless=options.lossless,
                    **lossy,
                    **saved,
                )
            case OutputFormat.GIF:
                written = image.gifsave_buffer(
                    effort=GIF_EFFORT, interlace=options.progressive, **saved
                )
        return bytes(written)

    return write


def _profile_name(image: VImage, fmt: OutputFormat) -> str:
    """libvips' built-in profile for the pixels as ``fmt`` stores them: JPEG and PNG keep
    grey as one band; WebP and AVIF store it as RGB."""
    grey = image.bands - int(image.hasalpha()) == 1
    return "sgrey" if grey and fmt in (OutputFormat.JPEG, OutputFormat.PNG) else "srgb"


def _flattened(image: VImage, background: tuple[int, int, int, int]) -> VImage:
    """Transparency composited onto ``background``'s colour (its own alpha is moot: JPEG
    is opaque). Grey with alpha becomes RGB where the background is not grey."""
    red, green, blue, _ = background
    if image.bands == 2:
        if red == green == blue:
            return image.flatten(background=[float(red)])
        image = image.colourspace("srgb")
    return image.flatten(background=[float(red), float(green), float(blue)])
