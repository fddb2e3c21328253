"""BMP and ICO, decoded whole by Pillow after their headers were checked against the limits.

Pillow reads a BMP's header on open and its pixels on load. It decodes an ICO's largest
icon as soon as it opens the file, and that icon may be a PNG or bitmap of any size
whatever the icon directory says (it has one byte per side): so the ICO header here is the
directory Pillow chooses from, and the real size is read from the chosen icon's own header.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from PIL import IcoImagePlugin, Image

from darkroom.imaging.errors import CorruptImage, ImageTooLarge
from darkroom.imaging.geometry import Size
from darkroom.imaging.header import Header
from darkroom.imaging.libvips import VImage
from darkroom.imaging.loaders.in_memory import from_pillow
from darkroom.imaging.source import ImageInput, python_file

PILLOW_FORMATS = {"bmp": "BMP", "ico": "ICO"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What Pillow raises for data it cannot parse or decode.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


def bmp_header(source: ImageInput) -> Header:
    try:
        with python_file(source) as file, Image.open(file, formats=["BMP"]) as image:
            return _header("bmp", Size(*image.size), "icc_profile" in image.info)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except _PILLOW_ERRORS as exc:
        raise CorruptImage(f"unreadable bmp header: {exc}"[:500]) from exc


def ico_header(source: ImageInput) -> Header:
    """The size of the icon Pillow decodes (the largest the directory lists), from that
    icon's own PNG or bitmap header."""
    try:
        with python_file(source) as file:
            chosen = IcoImagePlugin.IcoFile(file).entry[0]
            file.seek(chosen.offset)
            return _header("ico", _icon_size(file), False)
    except _PILLOW_ERRORS as exc:
        raise CorruptImage(f"unreadable ico header: {exc}"[:500]) from exc


def decode_with_pillow(source: ImageInput, header: Header) -> VImage:
    """The whole image as 8-bit grey or RGB, with alpha where it has transparency."""
    try:
        formats = [PILLOW_FORMATS[header.format]]
        with python_file(source) as file, Image.open(file, formats=formats) as image:
            if image.size != tuple(header.stored):
                raise CorruptImage(f"{image.size[0]}x{image.size[1]}, not the header's size")
            image.load()
            return from_pillow(image)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except _PILLOW_ERRORS as exc:
        raise CorruptImage(f"decoding failed: {exc}"[:500]) from exc


def _header(fmt: str, size: Size, has_icc_profile: bool) -> Header:
    return Header(
        format=fmt,
        stored=size,
        orientation=1,
        has_icc_profile=has_icc_profile,
        frames=1,
    )


def _icon_size(file: BinaryIO) -> Size:
    """Width and height from the header of the icon at ``file``'s position: a PNG's IHDR,
    or a bitmap's info header, whose height counts the transparency mask too."""
    head = file.read(24)
    if head.startswith(_PNG_SIGNATURE):
        width, height = struct.unpack(">II", head[16:24])
        return Size(width, height)
    if struct.unpack("<I", head[:4])[0] == 12:  # BITMAPCOREHEADER: 16-bit sides
        width, height = struct.unpack("<HH", head[4:8])
    else:
        width, height = struct.unpack("<ii", head[4:12])
    return Size(abs(width), abs(height) // 2)
