"""Placeholders of a source (BlurHash, ThumbHash, dominant colour), from the decode its
outputs are made from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from darkroom.imaging import Limits, Operation, OutputFormat, RenderSpec, render
from darkroom.imaging.placeholders import Placeholders, dominant_colour, placeholders_of
from tests.imaging.decodes import recorded_decodes
from tests.imaging.encoded import blurhash_pixels, thumbhash_average
from tests.imaging.samples import (
    BLUE,
    GREEN,
    RED,
    animation,
    close,
    quadrants,
    save,
    side_by_side,
    solid,
    with_fields,
)

LIMITS = Limits()


def made(image: Any, orientation: int = 1) -> Placeholders:
    return placeholders_of(image, orientation)


@pytest.mark.parametrize("colour", [RED, (30, 120, 200), (90, 90, 90)])
def test_a_plain_picture_gives_its_colour_three_ways(colour: Sequence[int]) -> None:
    placed = made(solid(120, 80, colour))
    assert placed.dominant_color == "#{:02x}{:02x}{:02x}".format(*colour)
    average, alpha, landscape = thumbhash_average(placed.thumbhash)
    assert close(average, colour, 10) and alpha == 1 and landscape
    decoded = blurhash_pixels(placed.blurhash, 16, 12)
    assert close(decoded.reshape(-1, 3).mean(axis=0), colour, 4)


def test_grey_pictures_work_too() -> None:
    placed = made(solid(40, 40, [90]))
    assert placed.dominant_color == "#5a5a5a"
    assert close(thumbhash_average(placed.thumbhash)[0], (90, 90, 90), 10)


def test_the_hashes_are_of_the_picture_as_displayed() -> None:
    # stored: red left, blue right; orientation 6 turns it a quarter clockwise: red on top
    placed = made(side_by_side(60, 40, RED, BLUE), orientation=6)
    assert not thumbhash_average(placed.thumbhash)[2]  # portrait
    decoded = blurhash_pixels(placed.blurhash, 8, 12)
    top, bottom = decoded[1, 4], decoded[10, 4]
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]


def test_the_dominant_colour_is_the_most_common_not_the_average() -> None:
    # a quarter blue, three quarters red
    placed = made(quadrants(40, 40, [RED, RED, BLUE, RED]))
    assert placed.dominant_color == "#ff0000"


def test_transparent_pixels_do_not_count_towards_the_dominant_colour() -> None:
    alpha = side_by_side(40, 40, [255], [0])
    picture = solid(40, 40, GREEN).bandjoin(alpha)  # green left, transparent right
    placed = made(picture)
    assert placed.dominant_color == "#00ff00"
    average, alpha_average, _ = thumbhash_average(placed.thumbhash)
    assert 0.35 < alpha_average < 0.65  # the header says half of it is transparent
    assert close(average, GREEN, 12)
    # BlurHash has no alpha: the transparent half is white, as JPEG would show it
    assert close(blurhash_pixels(placed.blurhash, 20, 20)[10, 18].tolist(), (255, 255, 255), 40)


def test_an_animation_gives_its_first_frame() -> None:
    placed = made(animation(30, 20, [BLUE, RED, RED, RED]))
    assert placed.dominant_color == "#0000ff"


def test_dominant_colour_of_a_few_pixels() -> None:
    pixels = np.array([[[10, 20, 30, 255], [12, 22, 28, 255], [200, 0, 0, 255]]], np.uint8)
    assert dominant_colour(pixels) == "#0b151d"


@pytest.mark.parametrize("outputs", [1, 3])
def test_placeholders_come_from_the_outputs_decode(
    monkeypatch: pytest.MonkeyPatch, outputs: int
) -> None:
    source = save(with_fields(side_by_side(200, 100, RED, BLUE), orientation=3), ".jpg", Q=95)
    specs = [
        RenderSpec(Operation.THUMBNAIL, 40 * (i + 1), format=OutputFormat.WEBP)
        for i in range(outputs)
    ]
    decodes = recorded_decodes(monkeypatch)
    got: list[Placeholders] = []
    rendered = render(source, specs, LIMITS, on_placeholders=got.append)
    assert len(decodes) == 1 and len(rendered) == outputs
    assert len(got) == 1
    # turned half way round as displayed: blue on the left
    decoded = blurhash_pixels(got[0].blurhash, 8, 4)
    assert decoded[2, 1][2] > 150 > decoded[2, 1][0]


def test_no_placeholders_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    decodes = recorded_decodes(monkeypatch)
    render(save(solid(50, 50, RED), ".png"), [RenderSpec(Operation.THUMBNAIL, 20)], LIMITS)
    assert len(decodes) == 1


def test_a_tagged_wide_gamut_source_gives_srgb_colours() -> None:
    p3 = solid(64, 64, GREEN).icc_transform("p3", input_profile="srgb")
    got: list[Placeholders] = []
    render(
        save(p3, ".png"),
        [RenderSpec(Operation.THUMBNAIL, 32, format=OutputFormat.PNG)],
        LIMITS,
        on_placeholders=got.append,
    )
    red, green, blue = (int(got[0].dominant_color[i : i + 2], 16) for i in (1, 3, 5))
    assert close((red, green, blue), GREEN, 12)
