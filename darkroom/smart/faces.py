"""Frontal faces, with the Haar cascade that ships inside OpenCV's wheel (4.x)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from darkroom.smart.saliency import RGB

CASCADE = "haarcascade_frontalface_default.xml"
# Faces worth cropping for are not tiny: the detector looks at a copy this large at most,
# for faces at least a tenth of its shorter side (the cascade's cost grows with both).
DETECT_SIZE = 256
SMALLEST_FACE = 0.1
# detectMultiScale3's level weight: how surely the last stage passed. Below this, the
# "faces" are mostly textures that look like one.
MIN_WEIGHT = 1.5


@dataclass(frozen=True)
class Face:
    left: int
    top: int
    width: int
    height: int
    weight: float


class FaceDetector:
    """Loads the cascade once; ``detect`` may then be called for every image."""

    def __init__(self) -> None:
        path = os.path.join(cv2.data.haarcascades, CASCADE)  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"OpenCV's face cascade is missing: {path}")

    def detect(self, rgb: RGB) -> list[Face]:
        """Faces in ``rgb``, surest first, in its pixels."""
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        shrink = min(1.0, DETECT_SIZE / max(grey.shape))
        if shrink < 1.0:
            grey = cv2.resize(grey, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(grey)
        smallest = max(20, int(SMALLEST_FACE * min(grey.shape)))
        rects, _levels, weights = self._cascade.detectMultiScale3(
            grey,
            scaleFactor=1.15,
            minNeighbors=5,
            minSize=(smallest, smallest),
            outputRejectLevels=True,
        )
        faces = [
            Face(round(x / shrink), round(y / shrink), round(w / shrink), round(h / shrink), weight)
            for (x, y, w, h), weight in zip(rects, np.ravel(weights).tolist(), strict=True)
            if weight >= MIN_WEIGHT
        ]
        return sorted(faces, key=lambda f: -f.weight)
