"""Smart crop placement on arrays: windows, attention, entropy, faces, focal points."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from darkroom.smart import Analyzer, SmartMethod
from darkroom.smart.window import best_offset, contrast, place_window


def test_best_offset_takes_the_heaviest_run_and_the_middle_of_ties() -> None:
    assert best_offset(np.array([0, 0, 5, 5, 0, 0, 0], float), 2) == 2
    assert best_offset(np.zeros(9), 3) == 3  # all equal: centred
    assert best_offset(np.ones(4), 10) == 0


def test_place_window_slides_along_the_free_axis_only() -> None:
    scores = np.zeros((100, 300), np.float32)
    scores[40:60, 250:270] = 1.0
    left, top, share = place_window(scores, 100, 100)
    assert top == 0 and left <= 250 and left + 100 >= 270
    assert share == pytest.approx(1.0)
    assert contrast(share, 1 / 3) == pytest.approx(1.0)
    assert contrast(1 / 3, 1 / 3) == 0.0


def _scene(width: int, height: int, subject: tuple[int, int, int]) -> np.ndarray:
    """A quiet gradient with a small saturated checkered disc at (x, y), radius r."""
    x, y, r = subject
    rng = np.random.default_rng(5)
    ramp = np.linspace(110, 150, width, dtype=np.float32)[None, :, None]
    picture = np.repeat(np.repeat(ramp, height, axis=0), 3, axis=2)
    picture += rng.normal(0, 3, picture.shape).astype(np.float32)
    yy, xx = np.mgrid[0:height, 0:width]
    disc = (xx - x) ** 2 + (yy - y) ** 2 <= r * r
    checker = ((xx // 6 + yy // 6) % 2).astype(bool)
    picture[disc & checker] = (230, 30, 40)
    picture[disc & ~checker] = (20, 90, 230)
    return picture.clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("method", [SmartMethod.ATTENTION, SmartMethod.AUTO])
@pytest.mark.parametrize("x", [30, 160, 290])
def test_attention_keeps_the_subject_wherever_it_is(method: SmartMethod, x: int) -> None:
    rgb = _scene(320, 120, (x, 60, 20))
    choice = Analyzer().choose(rgb, 120, 120, method)
    assert choice.top == 0 and choice.left <= x - 20 and choice.left + 120 >= x + 20
    assert choice.method == "attention"  # no face in it: auto says what decided
    assert choice.confidence > 0.3


def test_entropy_prefers_the_varied_part() -> None:
    rgb = _scene(320, 120, (250, 60, 40))
    choice = Analyzer().choose(rgb, 120, 120, SmartMethod.ENTROPY)
    assert choice.left + 120 >= 250 and choice.method == "entropy"


def test_faces_are_found_in_a_photograph_and_win_over_other_detail() -> None:
    """scikit-image's astronaut: her face is at about x 175-275, y 60-165 of 512 x 512."""
    rgb = skimage.data.astronaut()
    analyzer = Analyzer()
    wide = analyzer.choose(rgb, 512, 200, SmartMethod.FACES)
    assert wide.method == "faces" and wide.confidence > 0.5
    assert wide.top <= 60 and wide.top + 200 >= 165
    assert analyzer.choose(rgb, 512, 200, SmartMethod.AUTO).method == "faces"


def test_faces_without_a_face_falls_back_to_attention() -> None:
    choice = Analyzer().choose(_scene(320, 120, (290, 60, 20)), 120, 120, SmartMethod.FACES)
    assert choice.method == "attention"


def test_focus_centres_on_the_point_and_stays_inside() -> None:
    analyzer = Analyzer()
    rgb = np.zeros((100, 400, 3), np.uint8)
    middle = analyzer.choose(rgb, 100, 100, SmartMethod.FOCUS, focus=(0.5, 0.5))
    assert (middle.left, middle.top, middle.confidence) == (150, 0, 1.0)
    edge = analyzer.choose(rgb, 100, 100, SmartMethod.FOCUS, focus=(0.99, 0.5))
    assert edge.left == 300
    with pytest.raises(ValueError):
        analyzer.choose(rgb, 100, 100, SmartMethod.FOCUS)
