"""Outputs are bounded by the pixels they hold (Limits.max_output_pixels, times the frames
of an animated output), checked from the header before anything is decoded."""

from __future__ import annotations

import pytest

from darkroom.config import Settings
from darkroom.imaging import (
    Limits,
    Operation,
    OutputFormat,
    OutputTooLarge,
    PairSpec,
    RenderSpec,
    Size,
    check_output_size,
    check_outputs,
    compose_pair,
    probe,
    render,
)
from darkroom.smart import Analyzer
from tests.imaging.decodes import recorded_decodes
from tests.imaging.samples import BLUE, GREEN, RED, animation, save, solid

AVIF = OutputFormat.AVIF


def test_the_default_allows_a_full_size_copy_of_any_accepted_source() -> None:
    def default(name: str) -> int:
        value: int = Settings.model_fields[name].default
        return value

    assert Limits().max_output_pixels == default("max_output_pixels")
    assert default("max_output_pixels") >= default("max_source_pixels")
    assert default("max_output_pixels") < default("max_output_dimension") ** 2


def test_sides_and_pixels_are_both_bounded() -> None:
    limits = Limits(max_output_dimension=1000, max_output_pixels=500_000)
    check_output_size(Size(1000, 500), limits)  # exactly at both bounds
    with pytest.raises(OutputTooLarge, match="side over 1000"):
        check_output_size(Size(1001, 10), limits)
    with pytest.raises(OutputTooLarge, match="1000x501 is 501000 pixels, over 500000"):
        check_output_size(Size(1000, 501), limits)
    with pytest.raises(OutputTooLarge, match="100x100 x 51 frames"):
        check_output_size(Size(100, 100), limits, frames=51)


def test_a_tiny_source_made_huge_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes = recorded_decodes(monkeypatch)
    tiny = save(solid(4, 4, RED), ".png")
    huge = [
        RenderSpec(Operation.RESIZE, 8192, 8192, format=AVIF, enlarge=True),
        RenderSpec(Operation.COVER, 8192, 6200, format=AVIF, enlarge=True),
        RenderSpec(Operation.THUMBNAIL, 8192, 8192, enlarge=True),
    ]
    for spec in huge:
        with pytest.raises(OutputTooLarge) as caught:
            render(tiny, [spec], Limits())
        assert caught.value.code == "output_too_large"
    assert decodes == []
    # within the bound, enlarging is allowed: the bound is on pixels made, not on scale
    enlarged = RenderSpec(Operation.RESIZE, 400, 300, format=AVIF, enlarge=True)
    [made] = render(tiny, [enlarged], Limits())
    assert (made.width, made.height) == (400, 300)


def test_whether_a_thumbnail_fits_depends_on_the_source() -> None:
    limits = Limits(max_output_pixels=8000 * 4000)
    enlarge = [RenderSpec(Operation.THUMBNAIL, 8000, 8000, enlarge=True)]
    check_outputs(probe(save(solid(20, 10, RED), ".png"), limits), enlarge, limits)  # 8000x4000
    with pytest.raises(OutputTooLarge, match="8000x8000"):
        check_outputs(probe(save(solid(10, 10, RED), ".png"), limits), enlarge, limits)
    # without enlarge a thumbnail never outgrows its source
    box = [RenderSpec(Operation.THUMBNAIL, 8000, 8000)]
    check_outputs(probe(save(solid(10, 10, RED), ".png"), limits), box, limits)


def test_a_full_size_convert_counts_the_source_pixels() -> None:
    facts = probe(save(solid(300, 200, RED), ".png"), Limits())
    convert = [RenderSpec(Operation.CONVERT, format=OutputFormat.WEBP)]
    check_outputs(facts, convert, Limits(max_output_pixels=60_000))
    with pytest.raises(OutputTooLarge, match="300x200 is 60000 pixels, over 59999"):
        check_outputs(facts, convert, Limits(max_output_pixels=59_999))


def test_an_animated_output_counts_every_frame() -> None:
    gif = save(animation(40, 30, [RED, GREEN, BLUE]), ".gif")
    limits = Limits(max_output_pixels=80 * 60 * 2)  # two frames of 80x60
    facts = probe(gif, limits)
    assert facts.frames == 3
    enlarged = RenderSpec(Operation.RESIZE, 80, 60, format=OutputFormat.GIF, enlarge=True)
    with pytest.raises(OutputTooLarge, match="80x60 x 3 frames is 14400 pixels"):
        check_outputs(facts, [enlarged], limits)
    with pytest.raises(OutputTooLarge):
        render(gif, [enlarged], limits)
    # a still output of the same size holds one frame
    still = RenderSpec(Operation.RESIZE, 80, 60, format=OutputFormat.PNG, enlarge=True)
    [made] = render(gif, [still], limits)
    assert (made.width, made.height, made.frames) == (80, 60, 1)
    # and an animation that fits is made with all its frames
    [animated] = render(
        gif, [RenderSpec(Operation.RESIZE, 60, 40, format=OutputFormat.GIF)], limits
    )
    assert animated.frames == 3


def test_a_pair_cover_is_bounded_by_its_canvas() -> None:
    pages = [save(solid(300, 400, colour), ".jpg") for colour in (RED, GREEN, BLUE)]
    with pytest.raises(OutputTooLarge, match="800x450 is 360000 pixels"):
        compose_pair(pages, PairSpec(width=800), Limits(max_output_pixels=359_999), Analyzer())
    cover = compose_pair(pages, PairSpec(width=800), Limits(max_output_pixels=360_000), Analyzer())
    assert (cover.rendered.width, cover.rendered.height) == (800, 450)
