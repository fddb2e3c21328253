"""ThumbHash (https://evanw.github.io/thumbhash/): a picture in about 25 bytes.

Written here from the format's description: its PyPI encoders are pure Python (~30 ms
for 100 x 100 pixels) or ship wheels for one CPython version only (docs/imaging-engine.md).
The picture is split into luminance, yellow-blue, red-green and alpha channels; a few
cosine terms of each are quantised to four bits, after a header of their constant terms
and scales.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where a hash is made: the API process never loads it
    import numpy as np
    import numpy.typing as npt

    Channel = npt.NDArray[np.float64]

MAX_SIDE = 100  # the format's own bound


def _round(value: float) -> int:
    return math.floor(value + 0.5)


def thumbhash(rgba: npt.NDArray[np.uint8]) -> bytes:
    """The ThumbHash of an 8-bit sRGB picture, ``rgba`` shaped (height, width, 4)."""
    import numpy as np

    height, width = rgba.shape[:2]
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"{width}x{height} does not fit in {MAX_SIDE}x{MAX_SIDE}")
    alpha = rgba[..., 3].astype(np.float64) / 255
    colour = rgba[..., :3].astype(np.float64) / 255
    opacity = float(alpha.sum())
    average = (colour * alpha[..., None]).sum(axis=(0, 1)) / opacity if opacity else np.zeros(3)
    has_alpha = opacity < width * height
    # transparent pixels take the average colour, so that they do not pull it anywhere
    over = average * (1 - alpha[..., None]) + colour * alpha[..., None]
    red, green, blue = over[..., 0], over[..., 1], over[..., 2]

    luminance_limit = 5 if has_alpha else 7  # fewer luminance terms when alpha needs room
    longest = max(width, height)
    lx = max(1, _round(luminance_limit * width / longest))
    ly = max(1, _round(luminance_limit * height / longest))
    l_dc, l_ac, l_scale = _channel((red + green + blue) / 3, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _channel((red + green) / 2 - blue, 3, 3)
    q_dc, q_ac, q_scale = _channel(red - green, 3, 3)

    landscape = width > height
    header24 = (
        _round(63 * l_dc)
        | _round(31.5 + 31.5 * p_dc) << 6
        | _round(31.5 + 31.5 * q_dc) << 12
        | _round(31 * l_scale) << 18
        | int(has_alpha) << 23
    )
    header16 = (
        (ly if landscape else lx)
        | _round(63 * p_scale) << 3
        | _round(63 * q_scale) << 9
        | int(landscape) << 15
    )
    hashed = [header24 & 255, header24 >> 8 & 255, header24 >> 16, header16 & 255, header16 >> 8]
    terms = [*l_ac, *p_ac, *q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _channel(alpha, 5, 5)
        hashed.append(_round(15 * a_dc) | _round(15 * a_scale) << 4)
        terms += a_ac
    nibbles = [_round(15 * term) for term in terms]
    nibbles += [0] * (len(nibbles) % 2)
    hashed += [low | high << 4 for low, high in zip(nibbles[::2], nibbles[1::2], strict=True)]
    return bytes(hashed)


def _channel(channel: Channel, nx: int, ny: int) -> tuple[float, list[float], float]:
    """The constant term, the varying terms (scaled to 0..1) and their scale, of the
    cosine terms with cx * ny < nx * (ny - cy): a triangle of the lowest frequencies."""
    import numpy as np

    height, width = channel.shape
    across = np.cos(np.pi / width * np.outer(np.arange(nx), np.arange(width) + 0.5))
    down = np.cos(np.pi / height * np.outer(np.arange(ny), np.arange(height) + 0.5))
    terms = down @ channel @ across.T / (width * height)  # [cy, cx]
    varying = [
        float(terms[cy, cx])
        for cy in range(ny)
        for cx in range(nx)
        if cx * ny < nx * (ny - cy) and (cx or cy)
    ]
    scale = max((abs(term) for term in varying), default=0.0)
    if scale:
        varying = [0.5 + 0.5 / scale * term for term in varying]
    return float(terms[0, 0]), varying, scale
