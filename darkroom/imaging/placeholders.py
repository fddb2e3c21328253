"""Placeholders of a source: BlurHash, ThumbHash and its dominant colour."""

from __future__ import annotations

from dataclasses import dataclass

from darkroom.imaging.libvips import VImage


@dataclass(frozen=True)
class Placeholders:
    blurhash: str
    thumbhash: str  # base64
    dominant_color: str  # #rrggbb


def placeholders_of(image: VImage, orientation: int) -> Placeholders:
    """From a decode already made (stored orientation, any scale, any frames)."""
    raise NotImplementedError("placeholders are being built")
