"""The ONNX path: a YOLO model exported to ONNX, run by onnxruntime, with models the tests
build (tests/onnx_models.py) whose answers are known, so every box is checked exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import skimage.data

from darkroom.smart import Analyzer, SmartMethod
from darkroom.smart.detectors import open_detector
from darkroom.smart.onnx_yolo import OnnxYoloDetector
from darkroom.smart.yolo import ModelUnusable, YoloSettings
from tests.onnx_models import candidates_model, classify_model, end_to_end_model

NAMES = {0: "speech bubble", 1: "person"}
# Input pixels (64 x 64). A 128 x 96 picture is scaled by 0.5 onto it, 8 rows of grey
# above and below: a box's original corners are ((x - 0) / 0.5, (y - 8) / 0.5).
PICTURE = np.zeros((96, 128, 3), np.uint8)


def test_candidates_are_kept_by_confidence_thinned_and_mapped_back(tmp_path: Path) -> None:
    model = candidates_model(
        tmp_path / "m.onnx",
        [
            (20, 20, 16, 16, 1, 0.9),  # a person: (12, 12)-(28, 28) on the input
            (21, 21, 16, 16, 1, 0.6),  # the same person again, overlapping by 0.78: dropped
            (21, 21, 16, 16, 0, 0.55),  # as much overlap, another class: kept
            (44, 40, 10, 20, 0, 0.5),  # a speech bubble: (39, 30)-(49, 50)
            (10, 50, 4, 4, 0, 0.1),  # below the confidence
        ],
        NAMES,
    )
    detector = OnnxYoloDetector(YoloSettings(model, confidence=0.25))
    assert detector.names == NAMES and detector.text_labels == frozenset({"speech bubble"})
    found = detector.detect(PICTURE)
    assert [(d.left, d.top, d.width, d.height, d.label) for d in found] == [
        (24, 8, 32, 32, "person"),
        (26, 10, 32, 32, "speech bubble"),
        (78, 44, 20, 40, "speech bubble"),
    ]
    assert [round(d.confidence, 2) for d in found] == [0.9, 0.55, 0.5]
    strict = OnnxYoloDetector(YoloSettings(model, confidence=0.95))
    assert strict.detect(PICTURE) == []


def test_end_to_end_exports_are_read_as_they_are(tmp_path: Path) -> None:
    model = end_to_end_model(
        tmp_path / "e2e.onnx", [(12, 12, 28, 28, 0.9, 1), (0, 0, 10, 10, 0.2, 0)], NAMES
    )
    [person] = OnnxYoloDetector(YoloSettings(model)).detect(PICTURE)
    assert (person.left, person.top, person.width, person.height) == (24, 8, 32, 32)
    assert person.label == "person"


def test_boxes_outside_the_picture_are_clipped_to_it(tmp_path: Path) -> None:
    model = candidates_model(tmp_path / "edge.onnx", [(60, 4, 12, 12, 1, 0.9)], NAMES)
    [box] = OnnxYoloDetector(YoloSettings(model)).detect(PICTURE)
    assert box.left + box.width == 128 and box.top == 0  # in the grey: clipped


def test_auto_crops_and_page_text_use_the_model(onnx_models: dict[str, Path]) -> None:
    """The "objects" model's person is at x 56 of 64 on the input: about x 525 here."""
    picture = skimage.data.coffee()  # 600 x 400, no face: auto turns to the model
    objects = OnnxYoloDetector(YoloSettings(onnx_models["objects"]))
    choice = Analyzer(lambda: objects).choose(picture, 200, 400, SmartMethod.AUTO)
    assert choice.method == "objects"
    assert choice.width == 200 and choice.left <= 525 <= choice.left + 200  # the person
    text = OnnxYoloDetector(YoloSettings(onnx_models["text"]))
    page = Analyzer(lambda: text).page(picture)
    assert page.text_source == "objects" and 0 < page.text_ratio < 0.2


def test_what_cannot_be_used_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ModelUnusable, match="not found"):
        OnnxYoloDetector(YoloSettings(tmp_path / "yolo11n.onnx"))
    with pytest.raises(ModelUnusable, match="classify model"):
        OnnxYoloDetector(YoloSettings(classify_model(tmp_path / "cls.onnx")))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelUnusable, match="cannot load"):
        OnnxYoloDetector(YoloSettings(broken))
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        model = candidates_model(tmp_path / "m.onnx", [(8, 8, 4, 4, 0, 0.9)], NAMES)
        with pytest.raises(ModelUnusable, match="no CUDA"):
            OnnxYoloDetector(YoloSettings(model, device="cuda"))


def test_the_file_decides_the_runtime(onnx_models: dict[str, Path], tmp_path: Path) -> None:
    assert isinstance(open_detector(YoloSettings(onnx_models["objects"])), OnnxYoloDetector)
    with pytest.raises(ModelUnusable, match="not found"):  # a .pt goes to ultralytics
        open_detector(YoloSettings(tmp_path / "model.pt"))
