"""Choosing where a cover crop sits: by attention, entropy, faces or a focal point."""

from __future__ import annotations

import cv2
import numpy as np

from darkroom.smart.faces import Face, FaceDetector
from darkroom.smart.saliency import RGB, attention, entropy_profile
from darkroom.smart.types import CropChoice, SmartMethod
from darkroom.smart.window import Scores, contrast, place_window

# A face outweighs everything else in the picture by this factor.
FACE_WEIGHT = 4.0


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
    ) -> CropChoice:
        """Where a ``width`` x ``height`` window (as large as the picture allows along one
        axis) should sit on ``rgb``."""
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
                return _around_faces(scores, faces, width, height)
        left, top, share = place_window(scores, width, height)
        area = (width * height) / (rgb.shape[0] * rgb.shape[1])
        confidence = round(contrast(share, area), 3)
        return CropChoice(left, top, width, height, SmartMethod.ATTENTION.value, confidence)


def _around_faces(scores: Scores, faces: list[Face], width: int, height: int) -> CropChoice:
    """Attention, with each face added at FACE_WEIGHT times all the rest together."""
    weighted = scores / max(float(scores.sum()), 1e-9)
    mask = np.zeros_like(weighted)
    for face in faces:
        mask[face.top : face.top + face.height, face.left : face.left + face.width] = 1.0
    weighted += FACE_WEIGHT * mask / max(float(mask.sum()), 1.0)
    left, top, _share = place_window(weighted, width, height)
    inside = float(mask[top : top + height, left : left + width].sum()) / float(mask.sum())
    sureness = min(1.0, faces[0].weight / 4.0)
    return CropChoice(
        left, top, width, height, SmartMethod.FACES.value, round(inside * sureness, 3)
    )


def _around_point(
    cols: int, rows: int, width: int, height: int, focus: tuple[float, float]
) -> CropChoice:
    """Centred on the focal point (fractions of the picture), kept inside it."""
    fx, fy = (min(1.0, max(0.0, f)) for f in focus)
    left = round(min(max(fx * cols - width / 2, 0), cols - width))
    top = round(min(max(fy * rows - height / 2, 0), rows - height))
    return CropChoice(left, top, width, height, SmartMethod.FOCUS.value, 1.0)
