"""Detected objects in smart crops and page text, with a detector of the test's own
whose boxes are known; and what happens when a detector fails."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from darkroom.smart import Analyzer, SmartMethod
from darkroom.smart.objects import Detection, ObjectDetector, covered_share
from darkroom.smart.saliency import RGB


class KnownBoxes:
    """Finds the same boxes in every picture."""

    def __init__(self, boxes: list[Detection], text_labels: frozenset[str] = frozenset()):
        self.boxes = boxes
        self.calls = 0
        self._text_labels = text_labels

    @property
    def text_labels(self) -> frozenset[str]:
        return self._text_labels

    def detect(self, rgb: RGB) -> list[Detection]:
        self.calls += 1
        return list(self.boxes)


class Broken(KnownBoxes):
    def detect(self, rgb: RGB) -> list[Detection]:
        self.calls += 1
        raise MemoryError("out of memory in the model")


def _busy_left_quiet_right() -> RGB:
    """Detail everywhere on the left half (attention goes there); a flat right half."""
    rng = np.random.default_rng(3)
    picture = np.full((200, 400, 3), 128, np.uint8)
    picture[:, :200] = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    return picture


def test_auto_crops_around_a_detected_object_when_there_is_no_face() -> None:
    dog = Detection(left=320, top=80, width=50, height=40, label="dog", confidence=0.8)
    detector = KnownBoxes([dog])
    analyzer = Analyzer(lambda: detector)
    picture = _busy_left_quiet_right()
    auto = analyzer.choose(picture, 120, 200, SmartMethod.AUTO)
    assert auto.method == "objects"
    assert auto.left <= dog.left and auto.left + auto.width >= dog.left + dog.width
    assert auto.confidence == pytest.approx(0.8)  # all of the box inside, at its confidence
    attention = analyzer.choose(picture, 120, 200, SmartMethod.ATTENTION)
    assert attention.method == "attention" and attention.left + attention.width <= 200
    assert detector.calls == 1  # only auto asks the detector


def test_lettering_is_not_a_subject() -> None:
    caption = Detection(320, 80, 50, 40, "Speech Bubble", 0.9)
    analyzer = Analyzer(lambda: KnownBoxes([caption], frozenset({"speech bubble"})))
    auto = analyzer.choose(_busy_left_quiet_right(), 120, 200, SmartMethod.AUTO)
    assert auto.method == "attention"


def test_a_detector_with_text_classes_measures_page_text() -> None:
    page = np.full((400, 300, 3), 255, np.uint8)
    bubbles = [Detection(0, 0, 150, 100, "speech bubble", 0.7)]
    overlapping = [*bubbles, Detection(100, 50, 100, 100, "text", 0.6)]
    cat = Detection(0, 200, 300, 200, "cat", 0.9)  # not text: not counted
    labels = frozenset({"speech bubble", "text"})
    analysis = Analyzer(lambda: KnownBoxes([*overlapping, cat], labels)).page(page)
    assert analysis.text_source == "objects"
    covered = 150 * 100 + 100 * 100 - 50 * 50
    assert analysis.text_ratio == pytest.approx(covered / (400 * 300))
    assert covered_share(overlapping, 400, 300) == pytest.approx(covered / (400 * 300))


def test_without_text_classes_pages_are_read_for_glyphs() -> None:
    page = np.full((400, 300, 3), 255, np.uint8)
    detector = KnownBoxes([Detection(0, 0, 300, 400, "cat", 0.9)])
    analysis = Analyzer(lambda: detector).page(page)
    assert (analysis.text_source, analysis.text_ratio, detector.calls) == ("glyphs", 0.0, 0)


def test_a_failing_detector_is_logged_and_analysis_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = Broken([], frozenset({"text"}))
    analyzer = Analyzer(lambda: broken)
    with caplog.at_level(logging.WARNING, logger="darkroom.smart"):
        auto = analyzer.choose(_busy_left_quiet_right(), 120, 200, SmartMethod.AUTO)
        page = analyzer.page(np.full((400, 300, 3), 255, np.uint8))
    assert auto.method == "attention"
    assert page.text_source == "glyphs"
    assert broken.calls == 2
    assert sum("object detection failed" in r.message for r in caplog.records) == 2


def test_a_detector_that_cannot_load_is_tried_once(caplog: pytest.LogCaptureFixture) -> None:
    attempts = []

    def load() -> ObjectDetector:
        attempts.append(1)
        raise FileNotFoundError("no such model")

    analyzer = Analyzer(load)
    with caplog.at_level(logging.ERROR, logger="darkroom.smart"):
        for _ in range(3):
            assert analyzer.choose(_busy_left_quiet_right(), 120, 200, SmartMethod.AUTO)
    assert len(attempts) == 1
    assert analyzer.detector() is None
    assert [r.message for r in caplog.records].count(
        "the object detector could not be loaded; going on without it"
    ) == 1
