"""Comic and manga pages: how much of a page is text, and its best portrait window.

Text is found without any trained model: dark marks of glyph size, close enough together
to form lines, merged into blocks with morphology; the blocks' area over the page's is the
text ratio (speech bubbles full of text count as text). When a trained detector whose
classes include text or bubbles is configured, the share of the page its boxes cover is
the text ratio instead. The portrait window is a 3:4 frame
across the page's full width (full height for a landscape page), slid along the page and
scored by edge density, tonal variance and saturation, with a penalty for blank windows
and a slight preference for the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from darkroom.smart.objects import Detection, covered_share
from darkroom.smart.saliency import RGB

WINDOW_ASPECT = 3 / 4  # width / height of the portrait window
WINDOW_STEPS = 24  # positions tried along the page
BLANK_STD = 0.04  # a window whose tones vary less than this is blank
TOP_BIAS = 0.05  # the top position gets this much more score than the bottom one

# Glyphs, as fractions of the page's height.
GLYPH_MIN, GLYPH_MAX = 0.006, 0.035
GLYPHS_PER_BLOCK = 4  # a block of text holds at least this many glyphs
BUBBLE_MAX = 0.2  # a light area holding lettering counts as a bubble up to this share


@dataclass(frozen=True)
class PageWindow:
    left: int
    top: int
    width: int
    height: int
    score: float  # 0..~1.5


@dataclass(frozen=True)
class PageAnalysis:
    text_ratio: float  # 0..1 of the page's area
    window: PageWindow  # in the analysed page's pixels
    text_source: str = "glyphs"  # or "objects": a trained detector's text boxes


def text_ratio(rgb: RGB) -> float:
    """Share of the page covered by blocks of glyph-sized marks (lettering, bubbles)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    rows = grey.shape[0]
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    areas = stats[1:, cv2.CC_STAT_AREA]
    low, high = GLYPH_MIN * rows, GLYPH_MAX * rows
    glyph = (
        (heights >= low)
        & (heights <= high)
        & (widths <= 2.5 * high)
        & (areas <= 0.8 * widths * heights)  # strokes, not solid blobs
    )
    if not glyph.any():
        return 0.0
    keep = np.zeros(count, np.uint8)
    keep[1:][glyph] = 255
    glyphs = keep[labels]
    # Glyphs of one line or column merge into a block; isolated specks do not.
    reach = max(3, int(high * 0.8))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (reach, reach))
    blocks = cv2.morphologyEx(glyphs, cv2.MORPH_CLOSE, kernel)
    n_blocks, block_labels, _stats, _ = cv2.connectedComponentsWithStats(blocks, connectivity=8)
    glyph_centres = np.zeros(n_blocks, np.int64)
    for cx, cy in np.asarray(centroids)[1:][glyph]:
        glyph_centres[block_labels[int(cy), int(cx)]] += 1
    lettering = np.isin(block_labels, np.flatnonzero(glyph_centres >= GLYPHS_PER_BLOCK))
    lettering &= block_labels > 0
    if not lettering.any():
        return 0.0
    return float((lettering | _bubbles_around(grey, lettering)).mean())


def _bubbles_around(grey: np.ndarray, lettering: np.ndarray) -> np.ndarray:
    """The light, enclosed areas (speech bubbles, captions) that hold the lettering; not
    the page's margin, which is far larger."""
    _, light = cv2.threshold(grey, 200, 255, cv2.THRESH_BINARY)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(light, connectivity=4)
    touched = np.unique(labels[lettering])
    small = stats[:, cv2.CC_STAT_AREA] < BUBBLE_MAX * grey.size
    bubbles = np.zeros(count, bool)
    bubbles[touched] = True
    bubbles &= small
    bubbles[0] = False
    return np.asarray(bubbles[labels], bool)


def best_window(rgb: RGB) -> PageWindow:
    """The 3:4 window with the most going on in it."""
    rows, cols = rgb.shape[:2]
    if cols / rows <= WINDOW_ASPECT:  # portrait page: full width, slide down
        width, height = cols, min(rows, round(cols / WINDOW_ASPECT))
    else:  # landscape or square page: full height, slide across
        width, height = min(cols, round(rows * WINDOW_ASPECT)), rows
    grey = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.float32) / 255.0
    dx, dy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    edges = np.minimum(np.asarray(cv2.magnitude(dx, dy), np.float32), 1.0)
    pixels = rgb.astype(np.float32) / 255.0
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    free = (rows - height) if width == cols else (cols - width)
    offsets = sorted({round(free * i / WINDOW_STEPS) for i in range(WINDOW_STEPS + 1)})
    best: PageWindow | None = None
    for step, offset in enumerate(offsets):
        if width == cols:
            area = (slice(offset, offset + height), slice(None))
            left, top = 0, offset
        else:
            area = (slice(None), slice(offset, offset + width))
            left, top = offset, 0
        spread = float(grey[area].std())
        score = (
            2.0 * float(edges[area].mean())
            + 1.5 * spread
            + 0.5 * float(saturation[area].mean())
            - (0.5 if spread < BLANK_STD else 0.0)
            + TOP_BIAS * (1 - step / max(1, len(offsets) - 1))
        )
        if best is None or score > best.score:
            best = PageWindow(left, top, width, height, score)
    assert best is not None
    return best


def analyse_page(rgb: RGB, text_boxes: Sequence[Detection] | None = None) -> PageAnalysis:
    """``text_boxes``: lettering a detector found; without them, glyphs are looked for."""
    window = best_window(rgb)
    if text_boxes is None:
        return PageAnalysis(text_ratio(rgb), window)
    rows, cols = rgb.shape[:2]
    return PageAnalysis(covered_share(text_boxes, rows, cols), window, "objects")
