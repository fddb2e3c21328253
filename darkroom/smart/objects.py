"""Objects found by a trained detector (darkroom.smart.yolo), as smart crops and page
analysis use them; no detector is loaded here, and NumPy only when a share is measured."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from darkroom.smart.saliency import RGB


@dataclass(frozen=True)
class Detection:
    """A box in the analysed picture's pixels; ``label`` is the model's class name."""

    left: int
    top: int
    width: int
    height: int
    label: str
    confidence: float


class ObjectDetector(Protocol):
    @property
    def text_labels(self) -> frozenset[str]:
        """Those of the model's class names that mark text or speech bubbles (lower case)."""
        ...

    def detect(self, rgb: RGB) -> list[Detection]:
        """What the model finds in ``rgb``, surest first."""
        ...


def is_text(detection: Detection, text_labels: frozenset[str]) -> bool:
    return detection.label.lower() in text_labels


def covered_share(boxes: Iterable[Detection], rows: int, cols: int) -> float:
    """Share of a ``rows`` x ``cols`` picture inside at least one of ``boxes``."""
    import numpy as np

    covered = np.zeros((rows, cols), bool)
    for box in boxes:
        covered[box.top : box.top + box.height, box.left : box.left + box.width] = True
    return float(covered.mean())
