"""Padding: a thumbnail placed centred on a canvas of the box's exact size."""

from __future__ import annotations

from darkroom.imaging.geometry import Size
from darkroom.imaging.libvips import VImage
from darkroom.imaging.spec import OutputFormat
from darkroom.imaging.transform import map_frames

Colour = tuple[int, int, int, int]
_WITHOUT_ALPHA = frozenset({OutputFormat.JPEG})
WHITE: Colour = (255, 255, 255, 255)
CLEAR: Colour = (255, 255, 255, 0)


def pad_colour(background: Colour | None, fmt: OutputFormat) -> Colour:
    """What the canvas is filled with: ``background``, else transparent where the format
    keeps alpha and white where it does not."""
    if background is not None:
        return background
    return WHITE if fmt in _WITHOUT_ALPHA else CLEAR


def pad(image: VImage, canvas: Size, colour: Colour) -> VImage:
    """``image`` (8-bit sRGB or grey, any frames) centred on ``canvas`` filled with ``colour``;
    an alpha band is added when the colour is not opaque."""
    if image.bands < 3:
        image = image.colourspace("srgb")
    if colour[3] < 255 and not image.hasalpha():
        image = image.bandjoin(255)
    fill = list(colour) if image.hasalpha() else list(colour[:3])
    left = (canvas.width - int(image.width)) // 2

    def onto_canvas(frame: VImage) -> VImage:
        top = (canvas.height - int(frame.height)) // 2
        return frame.embed(
            left, top, canvas.width, canvas.height, extend="background", background=fill
        )

    return map_frames(image, onto_canvas)
