"""Choosing where a cover crop sits: by attention, entropy, faces, detected objects or a
focal point."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from darkroom.smart.faces import FaceDetector
from darkroom.smart.objects import Detection
from darkroom.smart.saliency import RGB, attention, entropy_profile
from darkroom.smart.types import OBJECTS, CropChoice, SmartMethod
from darkroom.smart.window import Scores, contrast, place_window

# A face outweighs everything else in the picture by this factor; so do detected objects.
FACE_WEIGHT = 4.0
OBJECT_WEIGHT = 4.0

ObjectFinder = Callable[[RGB], list[Detection]]


class SmartCropper:
    """Holds the face detector, loaded once, on first use."""

    def __init__(self) -> None:
        cv2.setNumThreads(1)  # one worker, one core; the pool runs several
        self._faces: FaceDetector | None = None

    @property
    def faces(self) -> FaceDetector:
        if self._faces is None:
            self._faces = FaceDetector()
        return self._faces

    def choose(
        self,
        rgb: RGB,
        width: int,
        height: int,
        method: SmartMethod,
        focus: tuple[float, float] | None = None,
        find_objects: ObjectFinder | None = None,
    ) -> CropChoice:
        """Where a ``width`` x ``height`` window (as large as the picture allows along one
        axis) should sit on ``rgb``. ``auto`` asks ``find_objects`` (a trained detector)
        when there is no face."""
        if method is SmartMethod.FOCUS:
            if focus is None:
                raise ValueError("a focus crop needs a focal point")
            return _around_point(rgb.shape[1], rgb.shape[0], width, height, focus)
        if method is SmartMethod.ENTROPY:
            left, top, gain = entropy_profile(rgb, width, height)
            return CropChoice(left, top, width, height, method.value, round(gain, 3))
        scores = attention(rgb)
        if method in (SmartMethod.FACES, SmartMethod.AUTO):
            faces = self.faces.detect(rgb)
            if faces:
                boxes = [_Weighted(f.left, f.top, f.width, f.height, 1.0) for f in faces]
                sureness = min(1.0, faces[0].weight / 4.0)
                return _around(
                    scores, boxes, FACE_WEIGHT, width, height, SmartMethod.FACES, sureness
                )
        if method is SmartMethod.AUTO and find_objects is not None:
            found = find_objects(rgb)
            if found:
                boxes = [_Weighted(d.left, d.top, d.width, d.height, d.confidence) for d in found]
                sureness = found[0].confidence
                return _around(scores, boxes, OBJECT_WEIGHT, width, height, OBJECTS, sureness)
        left, top, share = place_window(scores, width, height)
        area = (width * height) / (rgb.shape[0] * rgb.shape[1])
        confidence = round(contrast(share, area), 3)
        return CropChoice(left, top, width, height, SmartMethod.ATTENTION.value, confidence)


@dataclass(frozen=True)
class _Weighted:
    left: int
    top: int
    width: int
    height: int
    weight: float


def _around(
    scores: Scores,
    boxes: Sequence[_Weighted],
    factor: float,
    width: int,
    height: int,
    method: str,
    sureness: float,
) -> CropChoice:
    """Attention, with the boxes (each at its own weight) added at ``factor`` times all
    the rest together. Confidence: the boxes' weight inside the window times
    ``sureness``."""
    weighted = scores / max(float(scores.sum()), 1e-9)
    mask = np.zeros_like(weighted)
    for box in boxes:
        area = mask[box.top : box.top + box.height, box.left : box.left + box.width]
        np.maximum(area, box.weight, out=area)
    total = max(float(mask.sum()), 1e-9)
    weighted += factor * mask / total
    left, top, _share = place_window(weighted, width, height)
    inside = float(mask[top : top + height, left : left + width].sum()) / total
    return CropChoice(left, top, width, height, method, round(inside * sureness, 3))


def _around_point(
    cols: int, rows: int, width: int, height: int, focus: tuple[float, float]
) -> CropChoice:
    """Centred on the focal point (fractions of the picture), kept inside it."""
    fx, fy = (min(1.0, max(0.0, f)) for f in focus)
    left = round(min(max(fx * cols - width / 2, 0), cols - width))
    top = round(min(max(fy * rows - height / 2, 0), rows - height))
    return CropChoice(left, top, width, height, SmartMethod.FOCUS.value, 1.0)
