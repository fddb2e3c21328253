"""Pixel operations on lazy libvips images; multi-frame images are handled frame by frame.

An animated image is a "toilet roll": frames stacked vertically, ``page-height`` apart.
"""

from __future__ import annotations

from collections.abc import Callable

import pyvips

from darkroom.imaging.geometry import Box, Size
from darkroom.imaging.libvips import VImage, field_int, has_field


def page_height(image: VImage) -> int:
    height = int(image.height)
    page = field_int(image, "page-height", height)
    return page if 0 < page <= height and height % page == 0 else height


def frame_count(image: VImage) -> int:
    return int(image.height) // page_height(image)


def first_frame(image: VImage) -> VImage:
    page = page_height(image)
    return image if page == image.height else image.crop(0, 0, image.width, page)


def map_frames(image: VImage, operation: Callable[[VImage], VImage]) -> VImage:
    """Apply ``operation`` to each frame and stack the results again."""
    page = page_height(image)
    if page == image.height:
        return operation(image)
    frames = [
        operation(image.crop(0, top, image.width, page)) for top in range(0, image.height, page)
    ]
    joined = pyvips.Image.arrayjoin(frames, across=1).copy()
    joined.set_type(pyvips.GValue.gint_type, "page-height", int(frames[0].height))
    return joined


def crop_and_resize(frame: VImage, region: Box, output: Size) -> VImage:
    """Cut ``region`` (in this frame's pixels) out and scale it to exactly ``output``."""
    left, top, width, height = region.snapped(Size(frame.width, frame.height))
    if (left, top, width, height) != (0, 0, frame.width, frame.height):
        frame = frame.crop(left, top, width, height)
    return resize_exact(frame, output)


def resize_exact(frame: VImage, output: Size) -> VImage:
    if (frame.width, frame.height) == output:
        return frame
    alpha = frame.hasalpha()
    band_format = frame.format
    if alpha:  # premultiplied, so transparent pixels' colour does not bleed into edges
        frame = frame.premultiply()
    vscale = output.height / frame.height
    frame = _rows_shrunk(frame, output.width / frame.width)
    resized = frame.resize(output.width / frame.width, vscale=vscale)
    return resized.unpremultiply().cast(band_format) if alpha else resized


def _rows_shrunk(frame: VImage, hscale: float) -> VImage:
    """``frame`` with its rows box-shrunk by the integer factor libvips' resize would
    shrink them by itself (all but the last 2x of the scale, left to the Lanczos kernel).

    Done first, the rows are short before the strips a streamed decode is resized in are
    buffered: a 48 MP PNG resized to 1280 px peaks at 28 MiB instead of 48 MiB, no slower.
    """
    shrink = int(1 / (2 * hscale) + 0.5)
    return frame.shrinkh(shrink) if shrink >= 2 else frame


def to_srgb(image: VImage) -> VImage:
    """8-bit sRGB (or 8-bit grey), with any embedded profile applied and then dropped."""
    interpretation = image.interpretation
    if has_field(image, "icc-profile-data") or interpretation == "cmyk":
        fallback = "cmyk" if interpretation == "cmyk" else "srgb"
        converted = image.icc_transform(
            "srgb", embedded=True, input_profile=fallback, intent="relative"
        ).copy()
        converted.remove("icc-profile-data")  # pixels are plain sRGB now; untagged says so
        return converted
    if image.format == "uchar" and interpretation in ("srgb", "b-w"):
        return image
    grey = image.bands - int(image.hasalpha()) == 1
    converted = image.colourspace("b-w" if grey else "srgb")
    return converted if converted.format == "uchar" else converted.cast("uchar")


def orient(image: VImage, orientation: int) -> VImage:
    """Apply EXIF ``orientation`` (read from the header) to every frame.

    The tag is set on the image first, since a decoder other than libvips' carries no
    metadata; libvips' autorot then turns the pixels and removes the tag.
    """
    tagged = image.copy()
    tagged.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return map_frames(tagged, lambda frame: frame.autorot())


def displayed_rgb(image: VImage, orientation: int, background: float) -> VImage:
    """A single frame as displayed (EXIF ``orientation`` applied), 8-bit sRGB with three
    bands: transparency flattened onto ``background``, grey repeated into each band."""
    if orientation != 1:
        image = orient(image.copy_memory(), orientation)
    image = to_srgb(image)
    if image.hasalpha():
        image = image.flatten(background=[background] * (image.bands - 1))
    if image.bands == 1:
        image = image.bandjoin([image, image])
    return image.copy(interpretation="srgb")
