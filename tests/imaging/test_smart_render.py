"""Smart cover crops through the real render path: placement, reporting, orientation."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from darkroom.imaging import Gravity, InvalidSpec, Limits, Operation, RenderSpec, render
from darkroom.smart import Analyzer
from tests.imaging.samples import load, noise, save, solid, with_fields

GREY = (128, 128, 128)
render_module = importlib.import_module("darkroom.imaging.render")  # `render` is also a function


def scene() -> Any:
    """600 x 200 of flat grey with a busy 80 x 80 patch at x 480-560, y 60-140."""
    return solid(600, 200, GREY).insert(noise(80, 80), 480, 60)


def cover(gravity: Gravity, **extra: Any) -> RenderSpec:
    return RenderSpec(Operation.COVER, width=200, height=200, gravity=gravity, **extra)


@pytest.mark.parametrize("gravity", [Gravity.ATTENTION, Gravity.ENTROPY, Gravity.AUTO])
def test_the_crop_follows_the_subject_and_is_reported(gravity: Gravity) -> None:
    [out] = render(save(scene(), ".png"), [cover(gravity)], Limits(), analyzer=Analyzer())
    assert out.crop is not None
    assert out.crop.top == 0 and out.crop.width == out.crop.height == 200
    assert 360 <= out.crop.left <= 480, out.crop
    assert out.crop.method in ("attention", "entropy")
    assert out.crop.confidence is not None and 0 <= out.crop.confidence <= 1
    assert load(out.data).deviate() > 10  # the busy patch is in the picture, not flat grey


def test_fixed_gravities_report_their_crop_and_thumbnails_none() -> None:
    data = save(scene(), ".png")
    thumb = RenderSpec(Operation.THUMBNAIL, width=100)
    centre, east, small = render(
        data, [cover(Gravity.CENTRE), cover(Gravity.EAST), thumb], Limits()
    )
    assert centre.crop is not None and east.crop is not None
    assert (centre.crop.left, centre.crop.method, centre.crop.confidence) == (200, "centre", None)
    assert (east.crop.left, east.crop.width, east.crop.method) == (400, 200, "east")
    assert small.crop is None


def test_crops_are_in_displayed_pixels_whatever_the_exif_orientation() -> None:
    """Stored turned a quarter (orientation 6: displayed = stored turned clockwise), the
    patch shows at the bottom of a 200 x 600 portrait; the crop says so."""
    displayed = scene().rot270()  # 200 wide, 600 high, patch near the bottom... as shown
    stored = with_fields(displayed.rot270(), orientation=6)
    spec = RenderSpec(Operation.COVER, width=200, height=200, gravity=Gravity.ATTENTION)
    [turned] = render(save(stored, ".jpg", Q=95), [spec], Limits())
    [upright] = render(save(displayed, ".jpg", Q=95), [spec], Limits())
    assert turned.crop is not None and upright.crop is not None
    assert (turned.crop.left, turned.crop.width, turned.crop.height) == (0, 200, 200)
    assert abs(turned.crop.top - upright.crop.top) <= 4


def test_one_decode_or_two_place_the_crop_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    data = save(scene(), ".png")
    spec = cover(Gravity.ATTENTION)
    [held] = render(data, [spec], Limits())
    [shared, _thumb] = render(data, [spec, RenderSpec(Operation.THUMBNAIL, width=50)], Limits())
    monkeypatch.setattr(render_module, "SHARED_DECODE_MAX_PIXELS", 10)  # too large to hold
    [streamed] = render(data, [spec], Limits())
    assert held.crop == shared.crop
    assert held.crop is not None and streamed.crop is not None
    assert abs(held.crop.left - streamed.crop.left) <= 4


def test_focus_point_and_its_checks() -> None:
    data = save(scene(), ".png")
    [out] = render(data, [cover(Gravity.FOCUS, focus=(0.0, 0.5))], Limits())
    assert out.crop is not None and (out.crop.left, out.crop.method) == (0, "focus")
    with pytest.raises(InvalidSpec, match="focal point"):
        render(data, [cover(Gravity.FOCUS)], Limits())
