"""The watermark step on real pixels: where it lands, how large, how transparent."""

from __future__ import annotations

from typing import Any

import pytest
import pyvips

from darkroom.imaging import Gravity, ImageTooLarge, UnsupportedImage, WatermarkSpec
from darkroom.imaging.steps.watermark import (
    MAX_WATERMARK_BYTES,
    MAX_WATERMARK_SIDE,
    apply_watermark,
    check_watermark,
)
from tests.imaging.samples import BLUE, RED, WHITE, animation, close, save, solid

BLACK = (0, 0, 0)


def red_mark(width: int = 20, height: int = 10) -> bytes:
    return save(solid(width, height, RED), ".png")


def painted_box(image: Any, colour: tuple[int, ...] = RED) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the pixels of ``colour`` in ``image``'s first bands."""
    bands = image.extract_band(0, n=len(colour))
    mask = (bands == list(colour)).bandand()
    columns, rows = mask.project()
    xs = [x for x in range(columns.width) if columns(x, 0)[0] > 0]
    ys = [y for y in range(rows.height) if rows(0, y)[0] > 0]
    return (xs[0], ys[0], xs[-1] - xs[0] + 1, ys[-1] - ys[0] + 1) if xs else (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("gravity", "where"),
    [
        (Gravity.SOUTH_EAST, (75, 55, 20, 10)),
        (Gravity.NORTH_WEST, (5, 5, 20, 10)),
        (Gravity.NORTH, (40, 5, 20, 10)),
        (Gravity.EAST, (75, 30, 20, 10)),
        (Gravity.CENTRE, (40, 30, 20, 10)),
    ],
)
def test_gravity_and_margin_place_it(gravity: Gravity, where: tuple[int, int, int, int]) -> None:
    output = solid(100, 70, WHITE)
    spec = WatermarkSpec(red_mark(), gravity=gravity, scale=0.2, margin=5)
    assert painted_box(apply_watermark(output, spec)) == where


def test_scale_keeps_its_aspect_and_never_outgrows_the_output() -> None:
    low = apply_watermark(solid(200, 40, WHITE), WatermarkSpec(red_mark(40, 20), scale=0.5))
    assert painted_box(low) == (120, 0, 80, 40)
    tall = apply_watermark(solid(100, 30, WHITE), WatermarkSpec(red_mark(10, 20), scale=1.0))
    assert painted_box(tall) == (85, 0, 15, 30)


def test_a_wide_mark_is_the_asked_share_of_the_width() -> None:
    marked = apply_watermark(solid(200, 100, WHITE), WatermarkSpec(red_mark(40, 20), scale=0.5))
    assert painted_box(marked) == (100, 50, 100, 50)


def test_half_opacity_blends_with_the_output() -> None:
    output = solid(40, 40, BLUE)
    spec = WatermarkSpec(red_mark(), gravity=Gravity.CENTRE, opacity=0.5, scale=0.5)
    marked = apply_watermark(output, spec)
    assert close(marked(20, 20), (128, 0, 127), tolerance=2)
    assert close(marked(1, 1), BLUE, tolerance=0)


def test_transparent_parts_of_the_mark_leave_the_output_as_it_was() -> None:
    ring = solid(20, 20, (*RED, 0)).draw_rect([255, 0, 0, 255], 0, 0, 20, 5, fill=True)
    spec = WatermarkSpec(save(ring, ".png"), gravity=Gravity.NORTH_WEST, scale=0.5)
    marked = apply_watermark(solid(40, 40, BLUE), spec)
    assert close(marked(5, 2), RED, tolerance=0)
    assert close(marked(5, 15), BLUE, tolerance=0)


def test_an_output_with_alpha_keeps_it() -> None:
    output = solid(40, 40, (*BLUE, 0))
    marked = apply_watermark(output, WatermarkSpec(red_mark(), gravity=Gravity.CENTRE))
    assert marked.bands == 4
    assert close(marked(20, 20), (*RED, 255), tolerance=0)
    assert close(marked(1, 1), (*BLUE, 0), tolerance=0)


def test_a_grey_output_stays_grey() -> None:
    marked = apply_watermark(solid(40, 40, (200,)), WatermarkSpec(red_mark(), scale=0.5))
    assert marked.bands == 1
    assert marked(35, 35)[0] < 150  # red, as grey
    assert marked(2, 2) == [200.0]


def test_every_frame_of_an_animation_is_marked() -> None:
    output = animation(60, 40, [BLUE, WHITE, BLUE])
    marked = apply_watermark(output, WatermarkSpec(red_mark(), scale=0.25, margin=2))
    assert (marked.height, marked.get("page-height")) == (120, 40)
    for frame in range(3):
        top = frame * 40
        assert close(marked(50, top + 35)[:3], RED, tolerance=0)
        assert not close(marked(10, top + 10)[:3], RED)


def test_an_oriented_mark_is_placed_as_displayed() -> None:
    stored = solid(10, 10, RED).join(solid(10, 10, BLUE), "vertical")
    stored.set_type(pyvips.GValue.gint_type, "orientation", 6)  # a quarter turn clockwise
    spec = WatermarkSpec(save(stored, ".jpg", Q=95), gravity=Gravity.NORTH_WEST, scale=0.5)
    marked = apply_watermark(solid(40, 40, WHITE), spec)
    assert close(marked(15, 5), RED)  # the stored top is on the right once turned
    assert close(marked(5, 5), BLUE)
    assert close(marked(5, 15), WHITE)


def test_refuses_what_it_cannot_read_or_is_too_large() -> None:
    with pytest.raises(UnsupportedImage):
        check_watermark(b"plain text, no image at all")
    wide = save(solid(MAX_WATERMARK_SIDE + 1, 1, BLACK), ".png")
    with pytest.raises(ImageTooLarge):
        check_watermark(wide)
    with pytest.raises(ImageTooLarge):
        apply_watermark(solid(10, 10, WHITE), WatermarkSpec(wide))
    with pytest.raises(ImageTooLarge):
        check_watermark(red_mark() + bytes(MAX_WATERMARK_BYTES))
