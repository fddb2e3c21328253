"""Output geometry, decided from the header before any pixel is decoded.

Every operation is expressed as a *region* of the displayed source (after EXIF
orientation) and the *output* size that region is resized to:

- thumbnail: the whole source, scaled to fit within width x height; a missing side
  leaves that axis free; with fit "pad", the output is the whole box, the picture
  centred on a canvas of that size;
- resize: the whole source, stretched to exactly width x height;
- cover: the largest region with the output's aspect ratio, placed by gravity, resized
  to exactly width x height;
- convert: the whole source at its own size.

None enlarges unless asked (``enlarge``): an output asked larger than its region along
either side is made as large as the region allows with the asked aspect ratio (a padded
thumbnail keeps its canvas, the picture in it unenlarged). "The source" is the part of
it an output uses: the displayed picture, or the region cut from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from darkroom.imaging.errors import InvalidSpec
from darkroom.imaging.spec import Gravity, Operation


class Size(NamedTuple):
    width: int
    height: int

    def transposed(self) -> Size:
        return Size(self.height, self.width)

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class Box:
    """A rectangle in (possibly fractional) pixel coordinates."""

    left: float
    top: float
    width: float
    height: float

    @classmethod
    def whole(cls, size: Size) -> Box:
        return cls(0.0, 0.0, float(size.width), float(size.height))

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.left * sx, self.top * sy, self.width * sx, self.height * sy)

    def snapped(self, within: Size) -> tuple[int, int, int, int]:
        """Whole pixels (left, top, width, height), at least one wide, inside ``within``."""
        left = min(round_half_up(self.left), within.width - 1)
        top = min(round_half_up(self.top), within.height - 1)
        right = min(round_half_up(self.left + self.width), within.width)
        bottom = min(round_half_up(self.top + self.height), within.height)
        return left, top, max(1, right - left), max(1, bottom - top)


@dataclass(frozen=True)
class Geometry:
    region: Box  # in displayed source pixels
    output: Size  # what the region is resized to
    canvas: Size | None = None  # fit "pad": the output placed centred on this

    @property
    def made(self) -> Size:
        """The size of the output made."""
        return self.canvas or self.output

    def moved(self, left: float, top: float) -> Geometry:
        """The same, its region offset by (left, top): planned within a part of the source."""
        r = self.region
        return Geometry(
            Box(r.left + left, r.top + top, r.width, r.height), self.output, self.canvas
        )

    @property
    def scale(self) -> float:
        """Largest factor from source pixels to output pixels along either axis."""
        return max(self.output.width / self.region.width, self.output.height / self.region.height)


# Where a cover crop (or a watermark) sits along each axis: 0 = left/top, 1 = right/bottom.
GRAVITY_FRACTIONS: dict[Gravity, tuple[float, float]] = {
    Gravity.CENTRE: (0.5, 0.5),
    Gravity.NORTH: (0.5, 0.0),
    Gravity.NORTH_EAST: (1.0, 0.0),
    Gravity.EAST: (1.0, 0.5),
    Gravity.SOUTH_EAST: (1.0, 1.0),
    Gravity.SOUTH: (0.5, 1.0),
    Gravity.SOUTH_WEST: (0.0, 1.0),
    Gravity.WEST: (0.0, 0.5),
    Gravity.NORTH_WEST: (0.0, 0.0),
}


def round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def plan_geometry(
    op: Operation,
    width: int | None,
    height: int | None,
    gravity: Gravity,
    source: Size,
    *,
    enlarge: bool = False,
    pad: bool = False,
) -> Geometry:
    for side in (width, height):
        if side is not None and side < 1:
            raise InvalidSpec(f"{op.value}: width and height must be positive, got {side}")
    whole = Box.whole(source)
    if op is Operation.CONVERT:
        return Geometry(whole, source)
    if op is Operation.THUMBNAIL:
        inside = _fit_within(source, width, height, enlarge)
        if pad and width is not None and height is not None:
            return Geometry(whole, inside, canvas=Size(width, height))
        return Geometry(whole, inside)
    if width is None or height is None:
        raise InvalidSpec(f"{op.value} needs both width and height")
    target = Size(width, height)
    if op is Operation.RESIZE:
        return Geometry(whole, target if enlarge else _no_larger(target, whole))
    region = _cover_region(source, target, gravity)
    return Geometry(region, target if enlarge else _no_larger(target, region))


def _no_larger(target: Size, region: Box) -> Size:
    """``target``, shrunk keeping its aspect ratio until no side is larger than ``region``'s."""
    scale = min(1.0, region.width / target.width, region.height / target.height)
    if scale >= 1.0:
        return target
    return Size(
        max(1, round_half_up(target.width * scale)), max(1, round_half_up(target.height * scale))
    )


def _fit_within(source: Size, width: int | None, height: int | None, enlarge: bool) -> Size:
    ratios: list[float] = []
    if width is not None:
        ratios.append(width / source.width)
    if height is not None:
        ratios.append(height / source.height)
    if not ratios:
        raise InvalidSpec("thumbnail needs a width or a height")
    scale = min(ratios) if enlarge else min(1.0, *ratios)
    return Size(
        max(1, round_half_up(source.width * scale)), max(1, round_half_up(source.height * scale))
    )


def _cover_region(source: Size, target: Size, gravity: Gravity) -> Box:
    aspect = target.width / target.height
    if source.width / source.height > aspect:
        region_width, region_height = source.height * aspect, float(source.height)
    else:
        region_width, region_height = float(source.width), source.width / aspect
    fx, fy = GRAVITY_FRACTIONS.get(gravity, (0.5, 0.5))  # smart ones move it after decoding
    return Box(
        (source.width - region_width) * fx,
        (source.height - region_height) * fy,
        region_width,
        region_height,
    )


def to_stored(box: Box, displayed: Size, orientation: int) -> Box:
    """Map a box on the displayed picture onto the pixels as stored under EXIF ``orientation``."""
    dw, dh = displayed
    x0, y0, x1, y1 = box.left, box.top, box.left + box.width, box.top + box.height
    corners = [_displayed_to_stored(x, y, dw, dh, orientation) for x, y in ((x0, y0), (x1, y1))]
    (ax, ay), (bx, by) = corners
    return Box(min(ax, bx), min(ay, by), abs(bx - ax), abs(by - ay))


def _displayed_to_stored(
    x: float, y: float, dw: float, dh: float, orientation: int
) -> tuple[float, float]:
    match orientation:
        case 2:  # mirrored left-right
            return dw - x, y
        case 3:  # turned half round
            return dw - x, dh - y
        case 4:  # mirrored top-bottom
            return x, dh - y
        case 5:  # transposed
            return y, x
        case 6:  # stored turned a quarter anticlockwise; displayed turns it clockwise
            return y, dw - x
        case 7:  # transversed
            return dh - y, dw - x
        case 8:  # stored turned a quarter clockwise
            return dh - y, x
        case _:
            return x, y
