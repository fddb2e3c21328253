"""The entry point the imaging layer holds. OpenCV and NumPy (~50 MiB resident) are
loaded on the first smart crop, so processes that never make one never pay for them; an
object detector, when one is configured, on the first crop or page that can use it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from darkroom.smart.types import CropChoice, SmartMethod

if TYPE_CHECKING:
    from darkroom.smart.crop import SmartCropper
    from darkroom.smart.objects import Detection, ObjectDetector
    from darkroom.smart.pages import PageAnalysis

log = logging.getLogger("darkroom.smart")

DetectorLoader = Callable[[], "ObjectDetector"]


class Analyzer:
    """One per worker process: keeps what smart crops load (the face model, the object
    detector) between images.

    ``load_detector`` makes the object detector; it is called once, on first need. If it
    fails, the failure is logged once and analysis goes on without it."""

    def __init__(self, load_detector: DetectorLoader | None = None) -> None:
        self._cropper: SmartCropper | None = None
        self._load_detector = load_detector
        self._detector: ObjectDetector | None = None

    def choose(
        self,
        rgb: Any,
        width: int,
        height: int,
        method: SmartMethod,
        focus: tuple[float, float] | None = None,
    ) -> CropChoice:
        """Where a ``width`` x ``height`` window (as large as the picture allows along one
        axis) should sit on ``rgb`` (an 8-bit RGB array, rows x columns x 3)."""
        if self._cropper is None:
            from darkroom.smart.crop import SmartCropper

            self._cropper = SmartCropper()
        finder = self._subjects if self.detector() is not None else None
        return self._cropper.choose(rgb, width, height, method, focus, finder)

    def page(self, rgb: Any) -> PageAnalysis:
        """A comic page's text ratio and best portrait window (darkroom.smart.pages)."""
        from darkroom.smart.pages import analyse_page

        detector = self.detector()
        if detector is None or not detector.text_labels:
            return analyse_page(rgb)
        from darkroom.smart.objects import is_text

        found = self._detect(detector, rgb)
        if found is None:
            return analyse_page(rgb)
        return analyse_page(rgb, [d for d in found if is_text(d, detector.text_labels)])

    def detector(self) -> ObjectDetector | None:
        """The object detector, loaded on the first call; None when there is none."""
        if self._load_detector is not None:
            load, self._load_detector = self._load_detector, None
            started = time.perf_counter()
            try:
                self._detector = load()
            except Exception:
                log.exception("the object detector could not be loaded; going on without it")
            else:
                elapsed = round(time.perf_counter() - started, 2)
                log.info(
                    "object detector loaded",
                    extra={"detector": repr(self._detector), "seconds": elapsed},
                )
        return self._detector

    def _subjects(self, rgb: Any) -> list[Detection]:
        """What the detector finds that is not lettering."""
        from darkroom.smart.objects import is_text

        detector = self._detector
        assert detector is not None
        found = self._detect(detector, rgb) or []
        return [d for d in found if not is_text(d, detector.text_labels)]

    @staticmethod
    def _detect(detector: ObjectDetector, rgb: Any) -> list[Detection] | None:
        try:
            return detector.detect(rgb)
        except Exception:
            log.warning("object detection failed; analysing without it", exc_info=True)
            return None
