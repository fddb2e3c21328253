"""The one place that touches pyvips' untyped surface directly.

pyvips ships no type information, so its images are ``Any``; ``VImage`` names that so
signatures elsewhere still say what they hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

import pyvips

from darkroom.imaging.errors import CorruptImage, ImageError
from darkroom.imaging.source import ImageInput, vips_source

VImage: TypeAlias = Any


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
        raise as_error(f"{context}: {detail}"[:500]) from exc


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
