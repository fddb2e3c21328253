"""Generated comic chapters with known page kinds, for the pair evaluation and tests.

A chapter is a colour cover, inner pages that are either art-heavy (panels of shapes,
hatching, screentone and gradients, little lettering) or text-heavy (panels crowded with
speech bubbles full of lettering), and a back cover. Lettering is real text drawn with
OpenCV's Hershey fonts.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAGE = (800, 1130)  # width, height: a B-series page
WORDS = "THE STORM IS COMING WE HAVE TO GO NOW WAIT WHAT WAS THAT SOUND".split()  # noqa: SIM905


@dataclass(frozen=True)
class Page:
    pixels: np.ndarray  # RGB, uint8
    kind: str  # cover, art, text


def _panels(rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    width, height = PAGE
    rows = rng.integers(2, 4)
    panels = []
    top = 30
    row_height = (height - 60) // rows
    for _ in range(rows):
        split = rng.integers(1, 3)
        left = 30
        cell = (width - 60) // split
        for _ in range(split):
            panels.append((left + 6, top + 6, cell - 12, row_height - 12))
            left += cell
        top += row_height
    return panels


def _art(rng: np.random.Generator, page: np.ndarray, box: tuple[int, int, int, int]) -> None:
    x, y, w, h = box
    sub = page[y : y + h, x : x + w]
    grad = np.linspace(rng.uniform(60, 200), rng.uniform(60, 200), h, dtype=np.float32)
    sub[:] = grad[:, None, None].astype(np.uint8)
    for _ in range(rng.integers(3, 7)):
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        radius = int(rng.uniform(0.1, 0.35) * min(w, h))
        tone = int(rng.uniform(0, 255))
        cv2.circle(sub, centre, radius, (tone, tone, tone), -1)
        cv2.circle(sub, centre, radius, (0, 0, 0), 3)
    for _ in range(rng.integers(10, 30)):  # hatching
        p = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        q = (p[0] + int(rng.uniform(-80, 80)), p[1] + int(rng.uniform(-80, 80)))
        cv2.line(sub, p, q, (20, 20, 20), int(rng.integers(1, 3)))
    if rng.uniform() < 0.5:  # screentone
        dots = np.zeros((h, w), bool)
        dots[::6, ::6] = True
        sub[dots] = 40


def _bubble(rng: np.random.Generator, page: np.ndarray, box: tuple[int, int, int, int]) -> None:
    x, y, w, h = box
    bw, bh = int(rng.uniform(0.45, 0.9) * w), int(rng.uniform(0.3, 0.6) * h)
    cx, cy = x + int(rng.uniform(bw / 2, w - bw / 2)), y + int(rng.uniform(bh / 2, h - bh / 2))
    cv2.ellipse(page, (cx, cy), (bw // 2, bh // 2), 0, 0, 360, (255, 255, 255), -1)
    cv2.ellipse(page, (cx, cy), (bw // 2, bh // 2), 0, 0, 360, (0, 0, 0), 2)
    line_y = cy - bh // 4
    while line_y < cy + bh // 4:
        text = " ".join(rng.choice(WORDS, size=3))
        size = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1)[0]
        cv2.putText(
            page, text, (cx - size[0] // 2, line_y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1
        )
        line_y += size[1] + 8


def page_of(kind: str, rng: np.random.Generator) -> Page:
    width, height = PAGE
    page = np.full((height, width, 3), 255, np.uint8)
    if kind == "cover":
        colour = rng.uniform(40, 230, 3)
        page[:] = colour.astype(np.uint8)
        _art(rng, page, (40, 200, width - 80, height - 260))
        cv2.putText(page, "CHAPTER", (60, 140), cv2.FONT_HERSHEY_DUPLEX, 3.0, (255, 255, 255), 6)
        return Page(page, kind)
    for box in _panels(rng):
        cv2.rectangle(page, (box[0] - 2, box[1] - 2), (box[0] + box[2], box[1] + box[3]), 0, 3)
        if kind == "art":
            _art(rng, page, box)
            if rng.uniform() < 0.2:
                _bubble(rng, page, (box[0], box[1], box[2] // 2, box[3] // 3))
        else:
            page[box[1] : box[1] + box[3], box[0] : box[0] + box[2]] = 235
            cv2.line(page, (box[0], box[1] + box[3] - 20), (box[0] + box[2], box[1] + 30), 90, 2)
            for _ in range(rng.integers(2, 4)):
                _bubble(rng, page, box)
    return Page(page, kind)


def chapter(rng: np.random.Generator, pages: int) -> list[Page]:
    """A cover, ``pages - 2`` inner pages (from 6 pages on, two or more art-heavy ones not
    among the first or last two pages of the chapter), a back cover."""
    inner = ["art" if rng.uniform() < 0.4 else "text" for _ in range(pages - 2)]
    # at least two art-heavy pages outside the first and last two, so a good pick exists
    middle = list(range(1, len(inner) - 1))
    if len(middle) >= 2:
        for spot in rng.choice(middle, size=2, replace=False):
            inner[spot] = "art"
    return [page_of("cover", rng), *(page_of(k, rng) for k in inner), page_of("cover", rng)]
