"""The chapter cover: the two best pages of a chapter side by side on a 16:9 canvas.

Each page is decoded small (shrink-on-load) and analysed (darkroom.smart.pages): its text
ratio and its best 3:4 window. The pages are ranked (darkroom.smart.pairing); the two
best windows are decoded again at the size the canvas needs and cover-fitted into its
left and right halves, the best page on the left. If the analysis fails (a page that
cannot be decoded small, memory running out), a lighter composer still makes the cover
from centred portrait crops of the two middle pages outside the edges, and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple, TypeVar

import pyvips

from darkroom.imaging.decode import open_source, retry_leniently
from darkroom.imaging.encode import encode
from darkroom.imaging.errors import CorruptImage, InvalidSpec
from darkroom.imaging.geometry import Box, Size, round_half_up, to_stored
from darkroom.imaging.libvips import VImage, libvips_errors
from darkroom.imaging.placement import analysis_pixels
from darkroom.imaging.plan import check_output_size
from darkroom.imaging.probe import Header, read_header
from darkroom.imaging.source import ImageInput
from darkroom.imaging.spec import Limits, OutputFormat, Rendered
from darkroom.imaging.transform import crop_and_resize, displayed_rgb, first_frame
from darkroom.smart import Analyzer
from darkroom.smart.pairing import PairRules, RankedPage, rank_pages

log = logging.getLogger("darkroom.imaging")
T = TypeVar("T")

PORTRAIT = 3 / 4
PAIR_ANALYSIS_SIZE = 640  # pages are read at this size: lettering must stay legible


@dataclass(frozen=True)
class PairSpec:
    width: int = 1200  # the canvas; its height is width * 9 / 16
    gap: int = 5  # pixels between the halves, in the background colour
    background: tuple[int, int, int] = (0, 0, 0)
    skip_edges: int = 2
    text_soft_ratio: float = 0.12
    text_hard_ratio: float = 0.3
    max_analysis_size: int = PAIR_ANALYSIS_SIZE
    return_candidates: bool = False
    format: OutputFormat = OutputFormat.JPEG
    quality: int | None = None


class PixelBox(NamedTuple):
    """A rectangle in whole displayed pixels."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class PairPage:
    """A page as the cover reports it: its ranking and the portrait window used."""

    index: int  # among the pages given
    score: float
    text_ratio: float  # to 4 places
    in_edge: bool
    box: PixelBox
    text_source: str


@dataclass(frozen=True)
class PairCover:
    rendered: Rendered
    picked: list[PairPage]  # the left page first
    candidates: list[PairPage] | None
    fallback_used: bool = False
    warning: str | None = None


def compose_pair(
    pages: Sequence[ImageInput], spec: PairSpec, limits: Limits, analyzer: Analyzer
) -> PairCover:
    if len(pages) < 2:
        raise InvalidSpec("a pair cover needs at least two pages")
    if spec.width < 16 or not 0 <= spec.gap < spec.width // 2:
        raise InvalidSpec("pair width must be at least 16 and the gap under half of it")
    check_output_size(pair_size(spec.width), limits)
    headers = [read_header(page, limits) for page in pages]
    rules = PairRules(spec.skip_edges, spec.text_soft_ratio, spec.text_hard_ratio)
    try:
        ranked, windows = _analyse(pages, headers, spec, analyzer, rules)
        fallback, warning = False, None
    except Exception as exc:  # the cover is still made, the lighter way
        log.warning("page analysis failed; composing from centred crops", exc_info=True)
        ranked, windows = _fallback(headers, rules)
        fallback = True
        warning = f"page analysis failed ({type(exc).__name__}: {exc}); used centred crops"
    best, second = ranked[0], ranked[1]
    cells = [_Cell(pages[p.index], headers[p.index], windows[p.index]) for p in (best, second)]
    canvas = _canvas(spec, cells)
    rendered = Rendered(
        data=encode(canvas, spec.format, spec.quality, False),
        format=spec.format,
        width=int(canvas.width),
        height=int(canvas.height),
    )

    def described(page: RankedPage) -> PairPage:
        return PairPage(
            index=page.index,
            score=page.score,
            text_ratio=round(page.text_ratio, 4),
            in_edge=page.in_edge,
            box=_pixel_box(windows[page.index]),
            text_source=page.text_source,
        )

    candidates = (
        sorted((described(p) for p in ranked), key=lambda c: c.index)
        if spec.return_candidates
        else None
    )
    return PairCover(rendered, [described(best), described(second)], candidates, fallback, warning)


def _analyse(
    pages: Sequence[ImageInput],
    headers: list[Header],
    spec: PairSpec,
    analyzer: Analyzer,
    rules: PairRules,
) -> tuple[list[RankedPage], list[Box]]:
    analyses, windows = [], []
    for page, header in zip(pages, headers, strict=True):
        scale = min(1.0, spec.max_analysis_size / max(header.stored))
        pixels = _from_decode(
            page,
            header,
            scale,
            partial(analysis_pixels, header=header, max_size=spec.max_analysis_size),
            "decoding a page failed",
        )
        analysis = analyzer.page(pixels)
        analyses.append(analysis)
        rows, cols = pixels.shape[:2]
        sx, sy = header.displayed.width / cols, header.displayed.height / rows
        w = analysis.window
        windows.append(Box(w.left * sx, w.top * sy, w.width * sx, w.height * sy))
    return rank_pages(analyses, rules), windows


def _fallback(headers: list[Header], rules: PairRules) -> tuple[list[RankedPage], list[Box]]:
    """Pages nearest the middle first, those outside the edges before those in them; each
    with its centred portrait window."""
    count = len(headers)
    middle = (count - 1) / 2
    ranked = sorted(
        (
            RankedPage(
                index=i,
                score=0.0,
                text_ratio=0.0,
                in_edge=i < rules.skip_edges or i >= count - rules.skip_edges,
                over_hard_limit=False,
                text_source="none",
            )
            for i in range(count)
        ),
        key=lambda p: (p.in_edge, abs(p.index - middle), p.index),
    )
    return ranked, [_centred_portrait(h.displayed) for h in headers]


def _centred_portrait(size: Size) -> Box:
    if size.width / size.height > PORTRAIT:
        width = size.height * PORTRAIT
        return Box((size.width - width) / 2, 0.0, width, float(size.height))
    height = min(float(size.height), size.width / PORTRAIT)
    return Box(0.0, (size.height - height) / 2, float(size.width), height)


@dataclass(frozen=True)
class _Cell:
    page: ImageInput
    header: Header
    window: Box


def pair_size(width: int) -> Size:
    """The cover's size for a canvas ``width`` pixels wide: 16:9."""
    return Size(width, max(1, round_half_up(width * 9 / 16)))


def _canvas(spec: PairSpec, cells: list[_Cell]) -> VImage:
    height = pair_size(spec.width).height
    left_width = (spec.width - spec.gap) // 2
    sizes = [Size(left_width, height), Size(spec.width - spec.gap - left_width, height)]
    canvas = (
        pyvips.Image.black(spec.width, height, bands=3)
        .new_from_image(list(spec.background))
        .copy(interpretation="srgb")
    )
    x = 0
    for cell, size in zip(cells, sizes, strict=True):
        filled = _fill(cell, size)
        with libvips_errors(context="composing the pair failed"):
            canvas = canvas.insert(filled, x, 0)
        x += size.width + spec.gap
    return canvas.cast("uchar")


def _fill(cell: _Cell, size: Size) -> VImage:
    """The cell's window cover-fitted into ``size``: its centre, at the cell's aspect."""
    window = cell.window
    aspect = size.width / size.height
    if window.width / window.height > aspect:
        width = window.height * aspect
        region = Box(window.left + (window.width - width) / 2, window.top, width, window.height)
    else:
        height = window.width / aspect
        region = Box(window.left, window.top + (window.height - height) / 2, window.width, height)
    header = cell.header
    scale = min(1.0, max(size.width / region.width, size.height / region.height))
    target = size.transposed() if header.quarter_turned else size

    def filled(decoded: VImage) -> VImage:
        decoded = first_frame(decoded)
        stored = to_stored(region, header.displayed, header.orientation).scaled(
            decoded.width / header.stored.width, decoded.height / header.stored.height
        )
        cropped = crop_and_resize(decoded, stored, target)
        return displayed_rgb(cropped, header.orientation, 0).copy_memory()  # cell-sized

    return _from_decode(cell.page, header, scale, filled, "composing the pair failed")


def _from_decode(
    page: ImageInput, header: Header, scale: float, use: Callable[[VImage], T], context: str
) -> T:
    """``use`` applied to the page decoded at ``scale`` (``use`` computes its pixels):
    decoded strictly, then once more leniently if that failed for anything but damaged
    data (decode.open_source)."""
    try:
        with libvips_errors(context=context):
            return use(open_source(page, header, scale, False, False, strict=True))
    except CorruptImage as exc:
        if not retry_leniently(header, exc):
            raise
    with libvips_errors(context=context):
        return use(open_source(page, header, scale, False, False, strict=False))


def _pixel_box(box: Box) -> PixelBox:
    return PixelBox(
        x=round_half_up(box.left),
        y=round_half_up(box.top),
        width=round_half_up(box.width),
        height=round_half_up(box.height),
    )
