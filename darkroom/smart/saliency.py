"""Score maps: where the eye goes (edges, skin, saturation) and how much a window says
(luminance entropy)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from darkroom.smart.window import Scores

RGB = NDArray[np.uint8]

# Weights of the attention map's parts, each first scaled to 0..1 over the picture.
DETAIL_WEIGHT = 1.0
RARE_COLOUR_WEIGHT = 0.8
SKIN_WEIGHT = 0.6


def _unit(values: Scores) -> Scores:
    """Scaled so that the picture's median is 0 and its maximum 1; below median is 0."""
    floor, top = float(np.median(values)), float(values.max())
    if top <= floor:
        return np.zeros_like(values)
    return np.asarray(np.clip((values - floor) / (top - floor), 0.0, 1.0), np.float32)


def _blur(values: Scores, sigma: float) -> Scores:
    return np.asarray(cv2.GaussianBlur(values, (0, 0), sigma), np.float32)


def attention(rgb: RGB) -> Scores:
    """Where the eye goes: detail that stands out from its surroundings, colours that are
    rare in this picture, and skin with detail in it (faces, hands; not a beige wall).
    Large even areas, however saturated or busy, score little: each part is measured
    against the picture around it. The map is squared, so that one striking subject
    outweighs a wide spread of mild interest when windows are compared by their sums."""
    side = max(rgb.shape[:2])
    grey = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.float32) / 255.0
    grey = _blur(grey, 0.8)
    dx, dy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    density = _blur(np.asarray(cv2.magnitude(dx, dy), np.float32), 0.01 * side + 1)
    detail = _unit(np.maximum(density - _blur(density, 0.15 * side), 0.0))

    levels = (rgb >> 5).astype(np.int32)  # 8 levels per channel, 512 colours
    colour = (levels[..., 0] << 6) | (levels[..., 1] << 3) | levels[..., 2]
    counts = np.bincount(colour.ravel(), minlength=512).astype(np.float32)
    rarity = -np.log2(counts[colour] / colour.size)
    rare = _unit(_blur(rarity.astype(np.float32), 0.01 * side + 1))

    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    luma, cr, cb = ycrcb[..., 0], ycrcb[..., 1], ycrcb[..., 2]
    skin = ((cr >= 135) & (cr <= 175) & (cb >= 85) & (cb <= 135) & (luma >= 50)).astype(np.float32)
    skin_with_detail = _blur(skin, 0.02 * side) * np.minimum(1.0, 2.0 * detail)

    score = DETAIL_WEIGHT * detail + RARE_COLOUR_WEIGHT * rare + SKIN_WEIGHT * skin_with_detail
    return _blur(np.square(score), 0.02 * side + 1)


def entropy_profile(rgb: RGB, width: int, height: int, steps: int = 32) -> tuple[int, int, float]:
    """(left, top, gain): the window position whose luminance histogram has the most
    entropy, trying ``steps`` positions along the free axis; gain is how far its entropy
    is above the poorest window's, relative to its own (0..1)."""
    grey = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
    rows, cols = grey.shape
    free = cols - width if width < cols else rows - height
    offsets = sorted({round(free * i / steps) for i in range(steps + 1)}) if free > 0 else [0]
    entropies: list[float] = []
    for offset in offsets:
        along = (slice(None), slice(offset, offset + width))
        window = grey[along] if width < cols else grey[offset : offset + height, :]
        counts = np.bincount(window.ravel() >> 2, minlength=64).astype(np.float64)
        p = counts[counts > 0] / counts.sum()
        entropies.append(float(-(p * np.log2(p)).sum()))
    best = int(np.argmax(entropies))
    top_value = entropies[best]
    gain = (top_value - min(entropies)) / top_value if top_value > 0 else 0.0
    offset = offsets[best]
    return (offset, 0, gain) if width < cols else (0, offset, gain)
