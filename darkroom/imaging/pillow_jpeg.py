"""JPEG decoding through Pillow, for DCT-scaled decodes small enough to hold in memory.

Measured on 24-36 MP JPEGs decoded at 1/8 scale, Pillow's libjpeg-turbo is a few
milliseconds faster than libvips' jpegload and, being one plain call, gains nothing and
loses nothing from libvips' thread pool (docs/imaging-engine.md). Only the decoder
changes: the pixels go on through the same libvips pipeline (crop, resize, EXIF
orientation, colour profile to sRGB, encoders), so outputs follow the same rules.

Anything this path does not take (CMYK, a decode over MAX_DECODED_PIXELS, a file Pillow
cannot open or decode, truncated data) returns None and libvips decodes it, and reports
what is really corrupt in its own words.

Pillow cannot tell a whole scan from one cut short: libjpeg only *warns* when the scan
stops early (a file truncated, then given its end marker), fills every block after the
cut with mid-grey, and Pillow's decoder ignores warnings. Two things are therefore left
to libvips, which decodes strictly (decode.open_source): progressive JPEGs, whose later
scans would leave no grey behind when cut, and a decode whose last pixel is exactly
mid-grey, which every sequential scan cut before its last block ends with (a picture
that merely ends in that grey is rare, and libvips then decodes it as well).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from darkroom.imaging.geometry import Size
from darkroom.imaging.header import Header
from darkroom.imaging.libvips import VImage
from darkroom.imaging.loaders.in_memory import from_pixels
from darkroom.imaging.source import ImageInput, python_file

# Pillow holds a decode whole; larger ones stream through libvips (4 MP: 12 MiB as RGB).
MAX_DECODED_PIXELS = 4_000_000
# Pillow feeds libjpeg from a file in blocks this large (its default is 64 KiB; each block
# is copied again together with what the decoder left of the previous one). Bytes in
# memory are handed over whole, without a copy.
FILE_BLOCK_BYTES = 1024 * 1024

_MODES = frozenset({"RGB", "L"})  # what libjpeg decodes to, CMYK aside
_FILL = 128  # libjpeg's value for a block with no coefficients


def decode_jpeg(source: ImageInput, header: Header, shrink: int) -> VImage | None:
    """The JPEG decoded at 1/``shrink`` scale (DCT scaling) as an in-memory libvips
    image, stored orientation and embedded ICC profile kept; None to leave it to libvips."""
    width, height = header.stored
    decoded = Size(-(-width // shrink), -(-height // shrink))  # libjpeg rounds up
    bomb_limit = Image.MAX_IMAGE_PIXELS  # Pillow warns above it, refuses above twice it
    if decoded.pixels > MAX_DECODED_PIXELS or (bomb_limit and header.stored.pixels > bomb_limit):
        return None
    try:
        with python_file(source) as file, Image.open(file, formats=["JPEG"]) as image:
            if image.mode not in _MODES or image.size != header.stored:
                return None
            if image.info.get("progressive"):
                return None
            if shrink > 1:
                # draft() takes the largest scale whose result still covers the size asked
                # for; asking for the floor of each side makes that exactly 1/shrink.
                image.draft(None, (width // shrink, height // shrink))
            image.decodermaxblock = FILE_BLOCK_BYTES if isinstance(source, Path) else len(source)
            image.load()
            if _ends_in_fill(image):
                return None
            pixels, size, mode = image.tobytes(), image.size, image.mode
            icc_profile = image.info.get("icc_profile")
    except (OSError, SyntaxError, ValueError):
        return None
    return from_pixels(pixels, size, mode, icc_profile)


def _ends_in_fill(image: Image.Image) -> bool:
    """Whether the decode's last pixel is the mid-grey libjpeg fills a scan cut short
    with (every coefficient zero: 128 in each channel, exactly, at any DCT scale)."""
    last = image.getpixel((image.width - 1, image.height - 1))
    return last == _FILL or last == (_FILL,) * len(image.getbands())
