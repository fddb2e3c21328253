"""Score maps: where the eye goes (edges, skin, saturation) and how much a window says
(luminance entropy)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from darkroom.smart.window import Scores

RGB = NDArray[np.uint8]

# Weights of the attention map's parts, each first scaled to 0..1 over the picture.
EDGE_WEIGHT = 1.0
CHROMA_WEIGHT = 0.8
SKIN_WEIGHT = 1.2


def _unit(values: Scores) -> Scores:
    top = float(values.max())
    return values / top if top > 0 else values


def attention(rgb: RGB) -> Scores:
    """Edges (detail), chroma (saturated colour) and skin tones, smoothed so that a
    subject's area counts rather than single pixels. Busy but even texture scores less
    than detail that stands out from its surroundings: each part is taken relative to its
    own median over the picture."""
    pixels = rgb.astype(np.float32) / 255.0
    grey = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.float32) / 255.0
    grey = np.asarray(cv2.GaussianBlur(grey, (3, 3), 0), np.float32)
    dx, dy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    edges = np.asarray(cv2.magnitude(dx, dy), np.float32)
    chroma = pixels.max(axis=2) - pixels.min(axis=2)
    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    luma, cr, cb = ycrcb[..., 0], ycrcb[..., 1], ycrcb[..., 2]
    skin = ((cr >= 135) & (cr <= 175) & (cb >= 85) & (cb <= 135) & (luma >= 50)).astype(np.float32)
    parts = [(edges, EDGE_WEIGHT), (chroma, CHROMA_WEIGHT), (skin, SKIN_WEIGHT)]
    score = np.zeros(grey.shape, np.float32)
    for part, weight in parts:
        standing_out = np.maximum(part - float(np.median(part)), 0.0)
        score += weight * _unit(standing_out)
    sigma = max(1.0, 0.02 * max(score.shape))
    return np.asarray(cv2.GaussianBlur(score, (0, 0), sigma), np.float32)


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
