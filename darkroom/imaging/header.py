"""What a source's header says, before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass

from darkroom.imaging.geometry import Size

# EXIF orientations 5..8 turn the picture a quarter, so the displayed sides swap.
QUARTER_TURNS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class Header:
    format: str
    stored: Size  # as the pixels are stored, before EXIF orientation
    orientation: int
    has_icc_profile: bool
    frames: int  # frames of an animation, pages of a TIFF
    page: int | None = None  # the one page (or frame) asked for; None: as usual

    @property
    def quarter_turned(self) -> bool:
        return self.orientation in QUARTER_TURNS

    @property
    def displayed(self) -> Size:
        return self.stored.transposed() if self.quarter_turned else self.stored
