"""Placeholders of a source: BlurHash, ThumbHash and its dominant colour.

All three come from one small copy (at most SAMPLE_SIDE pixels a side) of a decode the
outputs are made from anyway: its first frame, turned as displayed, in 8-bit sRGB.
BlurHash is opaque: transparency is flattened onto white for it, as for JPEG; ThumbHash
keeps it; the dominant colour is of the opaque pixels.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from darkroom.imaging.geometry import Size
from darkroom.imaging.libvips import VImage
from darkroom.imaging.thumbhash import thumbhash
from darkroom.imaging.transform import first_frame, orient, resize_exact, to_srgb

if TYPE_CHECKING:  # numpy is imported where placeholders are made, never by the API
    import numpy as np
    import numpy.typing as npt

SAMPLE_SIDE = 64  # ThumbHash takes up to 100; BlurHash's few terms need no more
BLURHASH_TERMS = (4, 3)  # along the longer side, along the shorter one
DOMINANT_BITS = 3  # per channel: the colours are counted in 8 x 8 x 8 bins
OPAQUE = 128  # alpha from which a pixel counts towards the dominant colour


@dataclass(frozen=True)
class Placeholders:
    blurhash: str
    thumbhash: str  # base64
    dominant_color: str  # #rrggbb


def placeholders_of(image: VImage, orientation: int) -> Placeholders:
    """From a decode already made (stored orientation, any scale, any frames)."""
    import fast_blurhash

    rgba = _sample(image, orientation)
    height, width = rgba.shape[:2]
    long_terms, short_terms = BLURHASH_TERMS
    x_terms, y_terms = (long_terms, short_terms) if width >= height else (short_terms, long_terms)
    opaque = _onto_white(rgba)
    return Placeholders(
        blurhash=fast_blurhash.encode(opaque.tobytes(), x_terms, y_terms, width, height),
        thumbhash=base64.b64encode(thumbhash(rgba)).decode("ascii"),
        dominant_color=dominant_colour(rgba),
    )


def dominant_colour(rgba: npt.NDArray[np.uint8]) -> str:
    """``#rrggbb``: the mean of the most populous bin of colours, among opaque pixels
    (all pixels, if none is)."""
    import numpy as np

    pixels = rgba.reshape(-1, 4)
    opaque = pixels[pixels[:, 3] >= OPAQUE]
    colours = (opaque if len(opaque) else pixels)[:, :3]
    shift = 8 - DOMINANT_BITS
    binned = colours >> shift
    bins = (binned[:, 0].astype(np.int64) << 2 * DOMINANT_BITS) | (
        binned[:, 1].astype(np.int64) << DOMINANT_BITS
    )
    bins |= binned[:, 2]
    fullest = int(np.bincount(bins).argmax())
    red, green, blue = (colours[bins == fullest].mean(axis=0) + 0.5).astype(int)
    return f"#{red:02x}{green:02x}{blue:02x}"


def _sample(image: VImage, orientation: int) -> npt.NDArray[np.uint8]:
    """The first frame, at most SAMPLE_SIDE a side, as displayed: 8-bit sRGB with alpha,
    shaped (height, width, 4)."""
    import numpy as np

    frame = first_frame(image)
    width, height = int(frame.width), int(frame.height)
    scale = min(1.0, SAMPLE_SIDE / max(width, height))
    if scale < 1:
        size = Size(max(1, round(width * scale)), max(1, round(height * scale)))
        frame = resize_exact(frame, size)
    frame = frame.copy_memory()  # small now; turning it needs random access
    if orientation != 1:
        frame = orient(frame, orientation)
    frame = to_srgb(frame)
    colour, alpha = (frame[:-1], frame[-1]) if frame.hasalpha() else (frame, None)
    if colour.bands == 1:
        colour = colour.bandjoin([colour, colour])
    frame = colour.bandjoin(255 if alpha is None else alpha)
    pixels = np.frombuffer(frame.write_to_memory(), dtype=np.uint8)
    return pixels.reshape(int(frame.height), int(frame.width), 4)


def _onto_white(rgba: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The RGB of ``rgba`` with transparency flattened onto white."""
    import numpy as np

    alpha = rgba[..., 3:].astype(np.float64) / 255
    flattened = rgba[..., :3] * alpha + 255 * (1 - alpha)
    return np.ascontiguousarray((flattened + 0.5).astype(np.uint8))
