"""Ways to look inside encoded outputs (JPEG frames, WebP chunks, GIF and ICC headers)
and placeholders (a ThumbHash's header, a BlurHash decoded)."""

from __future__ import annotations

import base64
import struct
from typing import Any

import fast_blurhash
import numpy as np


def jpeg_frame_marker(data: bytes) -> int:
    """The second byte of the JPEG's start-of-frame marker: 0xC0 baseline, 0xC2 progressive."""
    at = 2
    while at < len(data):
        marker = data[at + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        at += 2 + length
    raise AssertionError("no start-of-frame marker")


def webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, at = [], 12
    while at + 8 <= len(data):
        kind, (size,) = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])
        chunks.append(kind)
        at += 8 + size + size % 2
    return chunks


def gif_interlaced(data: bytes) -> bool:
    """The interlace flag of the GIF's first image descriptor."""
    packed = data[10]
    at = 13 + (3 << (packed & 7) + 1 if packed & 0x80 else 0)
    while data[at] == 0x21:  # an extension: its label, then sub-blocks up to an empty one
        at += 2
        while data[at]:
            at += 1 + data[at]
        at += 1
    assert data[at] == 0x2C
    return bool(data[at + 9] & 0x40)


def icc_colour_space(image: Any) -> bytes:
    """The data colour space an embedded ICC profile declares: b"RGB " or b"GRAY"."""
    profile = bytes(image.get("icc-profile-data"))
    return profile[16:20]


def thumbhash_average(encoded: str) -> tuple[list[float], float, bool]:
    """The average RGB (0..255) and alpha (0..1) a ThumbHash's header holds, and whether it
    says the picture is landscape (the format's description of its first five bytes)."""
    hashed = base64.b64decode(encoded)
    header = hashed[0] | hashed[1] << 8 | hashed[2] << 16
    luminance = (header & 63) / 63
    yellow_blue = (header >> 6 & 63) / 31.5 - 1
    red_green = (header >> 12 & 63) / 31.5 - 1
    alpha = (hashed[5] & 15) / 15 if header >> 23 else 1.0
    blue = luminance - 2 / 3 * yellow_blue
    red = (3 * luminance - blue + red_green) / 2
    green = red - red_green
    landscape = bool(hashed[4] >> 7)
    return [255 * max(0.0, min(1.0, c)) for c in (red, green, blue)], alpha, landscape


def blurhash_pixels(encoded: str, width: int, height: int) -> Any:
    return np.frombuffer(fast_blurhash.decode(encoded, width, height), np.uint8).reshape(
        height, width, 3
    )
