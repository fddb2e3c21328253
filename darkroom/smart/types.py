"""What a smart crop is asked for and what it answers; light to import."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SmartMethod(StrEnum):
    ATTENTION = "attention"
    ENTROPY = "entropy"
    FACES = "faces"
    AUTO = "auto"
    FOCUS = "focus"


# The method an ``auto`` crop reports when a trained detector's objects placed it.
OBJECTS = "objects"


@dataclass(frozen=True)
class CropChoice:
    """A window in the analysed picture's pixels; ``method`` is the one that decided it
    (``auto`` and ``faces`` without a face say which), ``confidence`` 0..1."""

    left: int
    top: int
    width: int
    height: int
    method: str
    confidence: float
