"""The one place that touches pyvips' untyped surface directly.

pyvips ships no type information, so its images are ``Any``; ``VImage`` names that so
signatures elsewhere still say what they hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

import pyvips

from darkroom.imaging.errors import CorruptImage, DamagedData, ImageError
from darkroom.imaging.source import ImageInput, vips_source

VImage: TypeAlias = Any

# What libjpeg (and libvips' JPEG source) say when scan data is cut short or damaged.
# libjpeg only warns, and fills what is missing with grey; decode.open_source makes
# these warnings fail a strict decode.
_DAMAGE = ("premature end", "bad huffman code", "bad arithmetic code", "instead of rst")


@contextmanager
def libvips_errors(
    as_error: type[ImageError] = CorruptImage, context: str = "image"
) -> Iterator[None]:
    """Turn any libvips failure inside the block into ``as_error``.

    Pixels are computed lazily, so decode failures (truncated data, broken
    entropy streams) surface only when an output is written; wrap that too.
    """
    try:
        yield
    except pyvips.Error as exc:
        detail = " ".join(str(exc.detail or exc.message).split())
        damaged = as_error is CorruptImage and any(w in detail.lower() for w in _DAMAGE)
        raise (DamagedData if damaged else as_error)(f"{context}: {detail}"[:500]) from exc


def open_image(source: ImageInput, loader: str, **options: Any) -> VImage:
    """Run the libvips ``*_source`` ``loader`` over the bytes in place, or the file itself.

    The ``*_buffer`` loaders would copy their input into a libvips blob first (a second
    64 MiB for a large PNG); a file is read by libvips as it decodes, never held whole.
    """
    return getattr(pyvips.Image, loader)(vips_source(source), **options)


def field_int(image: VImage, name: str, default: int) -> int:
    """An integer header field, or ``default`` when the image does not carry it."""
    if image.get_typeof(name) == 0:
        return default
    return int(image.get(name))


def has_field(image: VImage, name: str) -> bool:
    return bool(image.get_typeof(name) != 0)
