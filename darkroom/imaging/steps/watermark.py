"""Placing a watermark image on an output: read within bounds, scaled to a share of the
output's width, made as transparent as asked, and laid over it at a compass point."""

from __future__ import annotations

from darkroom.imaging.decode import open_source, retry_leniently
from darkroom.imaging.errors import CorruptImage, ImageTooLarge
from darkroom.imaging.geometry import GRAVITY_FRACTIONS, Size, round_half_up
from darkroom.imaging.header import Header
from darkroom.imaging.libvips import VImage, libvips_errors
from darkroom.imaging.probe import read_header
from darkroom.imaging.spec import Limits, WatermarkSpec
from darkroom.imaging.transform import map_frames, orient, page_height, to_srgb

MAX_WATERMARK_SIDE = 4096
MAX_WATERMARK_BYTES = 16 * 1024 * 1024
WATERMARK_LIMITS = Limits(
    max_source_pixels=MAX_WATERMARK_SIDE * MAX_WATERMARK_SIDE,
    max_source_dimension=MAX_WATERMARK_SIDE,
)


def check_watermark(data: bytes) -> Header:
    """The watermark's header, if darkroom reads it and it is within bounds; raises
    UnsupportedImage, CorruptImage or ImageTooLarge otherwise."""
    if len(data) > MAX_WATERMARK_BYTES:
        raise ImageTooLarge(f"a watermark is at most {MAX_WATERMARK_BYTES} bytes")
    return read_header(data, WATERMARK_LIMITS)


def apply_watermark(image: VImage, spec: WatermarkSpec) -> VImage:
    """``image`` (8-bit sRGB or grey, one frame or several stacked) with ``spec``'s image
    on each frame; the same bands as ``image``."""
    frame = Size(int(image.width), page_height(image))
    mark = _prepared(spec, frame, grey=image.bands - int(image.hasalpha()) == 1)
    anchor_x, anchor_y = GRAVITY_FRACTIONS[spec.gravity]
    left = _offset(frame.width, int(mark.width), spec.margin, anchor_x)
    top = _offset(frame.height, int(mark.height), spec.margin, anchor_y)
    space = "b-w" if mark.bands == 2 else "srgb"

    def place(one: VImage) -> VImage:
        # Only the pixels under the watermark are blended; the rest pass through untouched.
        under = one.crop(left, top, mark.width, mark.height)
        laid = under.composite2(mark, "over", compositing_space=space)
        laid = laid.extract_band(0, n=one.bands).cast("uchar")
        return one.insert(laid, left, top).copy(interpretation=one.interpretation)

    with libvips_errors(context="placing the watermark failed"):
        return map_frames(image, place)


def _prepared(spec: WatermarkSpec, frame: Size, *, grey: bool) -> VImage:
    """The watermark decoded, with alpha, at its size on ``frame`` and its opacity."""
    header = check_watermark(spec.image)
    size = _size_on(frame, header.displayed, spec.scale)
    try:
        return _decoded(spec, header, size, grey, strict=True)
    except CorruptImage as exc:
        if not retry_leniently(header, exc):
            raise
        return _decoded(spec, header, size, grey, strict=False)


def _decoded(spec: WatermarkSpec, header: Header, size: Size, grey: bool, strict: bool) -> VImage:
    displayed = header.displayed
    scale = min(1.0, max(size.width / displayed.width, size.height / displayed.height))
    with libvips_errors(context="decoding the watermark failed"):
        mark = open_source(spec.image, header, scale, False, False, strict=strict)
        if header.orientation != 1:
            mark = orient(mark.copy_memory(), header.orientation)
        mark = to_srgb(mark).colourspace("b-w" if grey else "srgb")
        if not mark.hasalpha():
            mark = mark.bandjoin_const(255)
        mark = mark.thumbnail_image(size.width, height=size.height, size="force", no_rotate=True)
        if spec.opacity < 1:
            colour = mark.extract_band(0, n=mark.bands - 1)
            alpha = mark.extract_band(mark.bands - 1) * spec.opacity + 0.5
            mark = colour.bandjoin(alpha.cast("uchar"))
        return mark.copy_memory()


def _size_on(frame: Size, mark: Size, scale: float) -> Size:
    """``scale`` of the frame's width, the watermark's aspect kept, never taller than it."""
    width = max(1, round_half_up(frame.width * scale))
    height = max(1, round_half_up(width * mark.height / mark.width))
    if height > frame.height:
        height = frame.height
        width = max(1, min(frame.width, round_half_up(height * mark.width / mark.height)))
    return Size(width, height)


def _offset(room: int, size: int, margin: int, anchor: float) -> int:
    """Where along an axis of ``room`` pixels a watermark ``size`` long starts: ``margin``
    from the edge it is anchored to (none when centred), and never past either edge."""
    start = margin + anchor * (room - size - 2 * margin)
    return max(0, min(room - size, round_half_up(start)))
