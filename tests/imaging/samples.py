"""Small source images made in code, and ways to look inside outputs."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Any

import pyvips

Colour = Sequence[float]
RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)
WHITE = (255, 255, 255)


def solid(width: int, height: int, colour: Colour) -> Any:
    return (
        pyvips.Image.black(width, height, bands=len(colour))
        .new_from_image(list(colour))
        .copy(interpretation="srgb" if len(colour) >= 3 else "b-w")
    )


def noise(width: int, height: int, seed: int | None = None) -> Any:
    """Busy RGB content: compresses badly, so truncating a file cuts into pixel data.
    ``seed``: the same content every time (else new content on each call)."""
    options = {} if seed is None else {"seed": seed}
    grey = pyvips.Image.gaussnoise(width, height, mean=128, sigma=50, **options)
    return grey.bandjoin([grey, grey.flip("horizontal")]).cast("uchar").copy(interpretation="srgb")


def side_by_side(width: int, height: int, left: Colour, right: Colour) -> Any:
    half = width // 2
    return solid(half, height, left).join(solid(width - half, height, right), "horizontal")


def quadrants(width: int, height: int, colours: Sequence[Colour]) -> Any:
    """Top-left, top-right, bottom-left, bottom-right."""
    top = side_by_side(width, height // 2, colours[0], colours[1])
    bottom = side_by_side(width, height - height // 2, colours[2], colours[3])
    return top.join(bottom, "vertical")


def with_fields(image: Any, **fields: int) -> Any:
    copied = image.copy()
    for name, value in fields.items():
        copied.set_type(pyvips.GValue.gint_type, name.replace("_", "-"), value)
    return copied


def animation(width: int, height: int, colours: Sequence[Colour]) -> Any:
    frames = [solid(width, height, colour) for colour in colours]
    strip = with_fields(pyvips.Image.arrayjoin(frames, across=1), page_height=height, loop=0)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100] * len(colours))
    return strip


def save(image: Any, suffix: str, **options: Any) -> bytes:
    return bytes(image.write_to_buffer(suffix, **options))


def load(data: bytes, **options: Any) -> Any:
    return pyvips.Image.new_from_buffer(data, "", **options)


def pixel(data: bytes, x: int, y: int) -> list[float]:
    return list(load(data)(x, y))


def close(actual: Sequence[float], expected: Sequence[float], tolerance: float = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG whose header claims ``width`` x ``height`` but carries one row."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG with its frame header (SOF0) rewritten to claim another size."""
    data = bytearray(save(solid(16, 16, RED), ".jpg"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)
