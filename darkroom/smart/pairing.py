"""Ranking a chapter's pages for its cover: the seed's rules, made explicit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pages loads OpenCV; this module is imported by every process
    from darkroom.smart.pages import PageAnalysis

MIDDLE_BONUS = 0.15  # at the middle page, falling to 0 at either end
EDGE_PENALTY = 0.5  # for the first and last skip_edges pages
LOW_TEXT = 0.03  # pages with less text than this get LOW_TEXT_BONUS
LOW_TEXT_BONUS = 0.1
SOFT_PENALTY_PER_RATIO = 2.0  # score lost per unit of text ratio above the soft limit


@dataclass(frozen=True)
class PairRules:
    skip_edges: int = 2
    text_soft_ratio: float = 0.12
    text_hard_ratio: float = 0.3


@dataclass(frozen=True)
class RankedPage:
    index: int
    score: float
    text_ratio: float
    in_edge: bool
    over_hard_limit: bool
    text_source: str = "glyphs"  # what measured text_ratio (PageAnalysis.text_source)


def rank_pages(pages: list[PageAnalysis], rules: PairRules) -> list[RankedPage]:
    """Every page, best first. Pages over the hard text limit come last whatever their
    score; among the rest the score decides."""
    count = len(pages)
    middle = (count - 1) / 2
    ranked = []
    for index, page in enumerate(pages):
        in_edge = index < rules.skip_edges or index >= count - rules.skip_edges
        score = page.window.score
        if middle > 0:
            score += MIDDLE_BONUS * (1 - abs(index - middle) / middle)
        if in_edge:
            score -= EDGE_PENALTY
        if page.text_ratio < LOW_TEXT:
            score += LOW_TEXT_BONUS
        elif page.text_ratio > rules.text_soft_ratio:
            score -= SOFT_PENALTY_PER_RATIO * (page.text_ratio - rules.text_soft_ratio)
        over_hard = page.text_ratio > rules.text_hard_ratio
        ranked.append(
            RankedPage(
                index, round(score, 4), page.text_ratio, in_edge, over_hard, page.text_source
            )
        )
    return sorted(ranked, key=lambda p: (p.over_hard_limit, -p.score, p.index))
