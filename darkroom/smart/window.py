"""The best placement of a fixed-size window over a score map."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Scores = NDArray[np.float32]


def best_offset(profile: NDArray[np.float64], span: int) -> int:
    """Start index of the ``span`` consecutive entries of ``profile`` with the largest sum;
    of equal sums, the one nearest the middle."""
    size = len(profile)
    if span >= size:
        return 0
    sums = np.convolve(profile, np.ones(span), mode="valid")
    best = sums.max()
    candidates = np.flatnonzero(sums >= best - 1e-9 * max(1.0, abs(best)))
    middle = (size - span) / 2
    return int(candidates[np.argmin(np.abs(candidates - middle))])


def place_window(scores: Scores, width: int, height: int) -> tuple[int, int, float]:
    """(left, top, share): where a ``width`` x ``height`` window holds the most score, and
    the share of all score it holds. A cover crop spans the whole image along one axis, so
    the search runs along the other one only."""
    rows, cols = scores.shape
    width, height = min(width, cols), min(height, rows)
    total = float(scores.sum())
    if width < cols:
        left, top = best_offset(scores.sum(axis=0, dtype=np.float64), width), 0
    else:
        left, top = 0, best_offset(scores.sum(axis=1, dtype=np.float64), height)
    inside = float(scores[top : top + height, left : left + width].sum())
    return left, top, inside / total if total > 0 else 0.0


def contrast(share: float, area_fraction: float) -> float:
    """How much better than chance a window is: 0 when the score is spread evenly (any
    window holds its area's share), 1 when the window holds all of it."""
    if area_fraction >= 1.0:
        return 1.0
    return float(min(1.0, max(0.0, (share - area_fraction) / (1.0 - area_fraction))))
