from __future__ import annotations

import pytest

from darkroom.imaging.decode import jpeg_shrink
from darkroom.imaging.geometry import Box, Size, plan_geometry, to_stored
from darkroom.imaging.spec import Gravity, Operation


def test_cover_region_follows_gravity() -> None:
    source = Size(400, 200)
    west = plan_geometry(Operation.COVER, 100, 100, Gravity.WEST, source)
    east = plan_geometry(Operation.COVER, 100, 100, Gravity.EAST, source)
    centre = plan_geometry(Operation.COVER, 100, 100, Gravity.CENTRE, source)
    assert west.region == Box(0, 0, 200, 200)
    assert east.region == Box(200, 0, 200, 200)
    assert centre.region == Box(100, 0, 200, 200)
    assert west.output == Size(100, 100) and west.scale == 0.5


@pytest.mark.parametrize(
    ("orientation", "expected"),
    [
        (1, Box(0, 0, 10, 20)),
        (2, Box(290, 0, 10, 20)),
        (3, Box(290, 180, 10, 20)),
        (4, Box(0, 180, 10, 20)),
        (5, Box(0, 0, 20, 10)),
        (6, Box(0, 290, 20, 10)),
        (7, Box(180, 290, 20, 10)),
        (8, Box(180, 0, 20, 10)),
    ],
)
def test_displayed_top_left_maps_onto_stored_pixels(orientation: int, expected: Box) -> None:
    displayed = Size(300, 200)
    assert to_stored(Box(0, 0, 10, 20), displayed, orientation) == expected


def test_snapping_stays_inside_the_image() -> None:
    assert Box(99.6, -0.2, 10, 10).snapped(Size(100, 50)) == (99, 0, 1, 10)


@pytest.mark.parametrize(
    ("scale", "shrink"), [(1.0, 1), (0.6, 1), (0.5, 2), (0.3, 2), (0.25, 4), (0.125, 8), (0.01, 8)]
)
def test_jpeg_shrink_keeps_enough_pixels(scale: float, shrink: int) -> None:
    assert jpeg_shrink(scale) == shrink


def test_a_thumbnail_enlarges_only_when_asked() -> None:
    source = Size(200, 100)
    kept = plan_geometry(Operation.THUMBNAIL, 800, None, Gravity.CENTRE, source)
    enlarged = plan_geometry(Operation.THUMBNAIL, 800, None, Gravity.CENTRE, source, enlarge=True)
    boxed = plan_geometry(Operation.THUMBNAIL, 800, 300, Gravity.CENTRE, source, enlarge=True)
    assert kept.output == Size(200, 100)
    assert enlarged.output == Size(800, 400)
    assert boxed.output == Size(600, 300)  # the box's tighter side decides
