"""Pixels decoded outside libvips, handed to it as an in-memory 8-bit image."""

from __future__ import annotations

import pyvips
from PIL import Image

from darkroom.imaging.libvips import VImage

# The Pillow modes libvips takes as they are, and what they are to it.
INTERPRETATIONS = {"RGB": "srgb", "RGBA": "srgb", "L": "b-w", "LA": "b-w"}
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})


def from_pixels(
    pixels: bytes | memoryview, size: tuple[int, int], mode: str, icc_profile: bytes | None
) -> VImage:
    """An 8-bit image over ``pixels`` (rows packed, no padding) in one of INTERPRETATIONS'
    modes, tagged with its embedded ``icc_profile``: render converts it to sRGB. libvips
    reads ``pixels`` in place."""
    width, height = size
    image = pyvips.Image.new_from_memory(pixels, width, height, len(mode), "uchar").copy(
        interpretation=INTERPRETATIONS[mode]
    )
    if icc_profile:
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc_profile)
    return image


def from_pillow(image: Image.Image) -> VImage:
    """A decoded Pillow image in any mode as 8-bit grey or RGB, with alpha where it has
    transparency (a palette's transparent index included)."""
    grey = image.mode in _GREY_MODES
    alpha = image.has_transparency_data
    mode = ("LA" if alpha else "L") if grey else ("RGBA" if alpha else "RGB")
    icc_profile = image.info.get("icc_profile")
    converted = image if image.mode == mode else image.convert(mode)
    return from_pixels(converted.tobytes(), converted.size, mode, icc_profile)
