"""Turning and mirroring: EXIF orientation, then the output's ``rotate`` and ``flip``,
composed into one orientation (1..8, EXIF's numbering) so that the picture is turned once,
after it is resized, and every step before sees the source as the output will show it.

Each orientation is the 2x2 matrix taking a stored pixel's offset from the centre to its
offset in the displayed picture (x to the right, y down)."""

from __future__ import annotations

from darkroom.imaging.geometry import Box, Size
from darkroom.imaging.spec import Flip

Matrix = tuple[int, int, int, int]  # (a, b, c, d): (x, y) -> (a x + b y, c x + d y)

_ORIENTATIONS: dict[int, Matrix] = {
    1: (1, 0, 0, 1),
    2: (-1, 0, 0, 1),  # mirrored left-right
    3: (-1, 0, 0, -1),  # half a turn
    4: (1, 0, 0, -1),  # mirrored top-bottom
    5: (0, 1, 1, 0),  # transposed
    6: (0, -1, 1, 0),  # a quarter turn clockwise
    7: (0, -1, -1, 0),  # transversed
    8: (0, 1, -1, 0),  # a quarter turn anticlockwise
}
_BY_MATRIX = {matrix: orientation for orientation, matrix in _ORIENTATIONS.items()}
_ROTATIONS: dict[int, Matrix] = {0: (1, 0, 0, 1), 90: (0, -1, 1, 0), 180: (-1, 0, 0, -1)}
_ROTATIONS[270] = (0, 1, -1, 0)
_FLIPS: dict[Flip, Matrix] = {Flip.HORIZONTAL: (-1, 0, 0, 1), Flip.VERTICAL: (1, 0, 0, -1)}


def user_turn(rotate: int, flip: Flip | None) -> Matrix:
    """``rotate`` degrees clockwise, then ``flip``."""
    turn = _ROTATIONS[rotate]
    return _times(_FLIPS[flip], turn) if flip is not None else turn


def combined(exif_orientation: int, turn: Matrix) -> int:
    """The orientation that shows the stored pixels as EXIF says, then turned by ``turn``."""
    return _BY_MATRIX[_times(turn, _ORIENTATIONS.get(exif_orientation, _ORIENTATIONS[1]))]


def turned_size(size: Size, turn: Matrix) -> Size:
    return size.transposed() if turn[0] == 0 else size


def turned_box(box: Box, within: Size, turn: Matrix) -> Box:
    """``box`` on a picture of size ``within``, where it lands once the picture is turned."""
    a, b, c, d = turn
    cx, cy = within.width / 2, within.height / 2
    after = turned_size(within, turn)
    corners = []
    for x, y in ((box.left, box.top), (box.left + box.width, box.top + box.height)):
        dx, dy = x - cx, y - cy
        corners.append((a * dx + b * dy + after.width / 2, c * dx + d * dy + after.height / 2))
    (x0, y0), (x1, y1) = corners
    return Box(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))


def _times(m: Matrix, n: Matrix) -> Matrix:
    """m · n: n applied first."""
    a, b, c, d = m
    e, f, g, h = n
    return (a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h)
