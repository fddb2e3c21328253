"""Pair covers at the imaging level: ranking rules and the fallback composer."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from darkroom.imaging import InvalidSpec, Limits, PairSpec, compose_pair
from darkroom.smart import Analyzer
from darkroom.smart.pages import PageAnalysis, PageWindow
from darkroom.smart.pairing import PairRules, rank_pages
from eval.pages import chapter


def _jpegs(seed: int, count: int) -> tuple[list[bytes], list[str]]:
    pages = chapter(np.random.default_rng(seed), count)
    data = [
        pyvips.Image.new_from_array(p.pixels, interpretation="srgb").jpegsave_buffer(Q=85)
        for p in pages
    ]
    return data, [p.kind for p in pages]


def _page(score: float, text: float) -> PageAnalysis:
    return PageAnalysis(text_ratio=text, window=PageWindow(0, 0, 3, 4, score))


def test_ranking_rules() -> None:
    pages = [_page(1.0, 0.0), _page(0.6, 0.0), _page(0.6, 0.2), _page(0.9, 0.5), _page(0.5, 0.0)]
    ranked = rank_pages(pages, PairRules(skip_edges=1, text_soft_ratio=0.1, text_hard_ratio=0.3))
    order = [p.index for p in ranked]
    assert order[-1] == 3  # over the hard text limit: last, whatever its window
    assert order.index(1) < order.index(2)  # same window, more text: lower
    assert order.index(1) < order.index(0)  # the best window, but a cover (edge)
    assert [p.in_edge for p in ranked if p.index in (0, 4)] == [True, True]


def test_the_best_page_goes_left_and_the_canvas_is_16_9() -> None:
    data, kinds = _jpegs(seed=3, count=8)
    cover = compose_pair(data, PairSpec(width=800, gap=10), Limits(), Analyzer())
    assert (cover.rendered.width, cover.rendered.height) == (800, 450)
    left, right = cover.picked
    assert left.score >= right.score
    assert kinds[left.index] == kinds[right.index] == "art"
    assert cover.candidates is None and not cover.fallback_used


def test_a_failed_analysis_still_makes_the_cover_from_centred_crops() -> None:
    data, _kinds = _jpegs(seed=5, count=6)
    data[0] = data[0][: len(data[0]) // 3]  # a truncated page: its analysis cannot decode it
    cover = compose_pair(data, PairSpec(width=600), Limits(), Analyzer())
    assert cover.fallback_used
    assert cover.warning is not None and "page analysis failed" in cover.warning
    assert sorted(p.index for p in cover.picked) == [2, 3]  # the middle, outside edges
    assert cover.picked[0].box.width == 800  # centred 3:4 over the full page width
    assert (cover.rendered.width, cover.rendered.height) == (600, 338)


def test_a_pair_needs_two_pages() -> None:
    data, _ = _jpegs(seed=1, count=4)
    with pytest.raises(InvalidSpec):
        compose_pair(data[:1], PairSpec(), Limits(), Analyzer())
