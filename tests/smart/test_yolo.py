"""The ultralytics path (.pt models, the ``yolo`` extra): loading a model file and running
it, with models built from ultralytics' configs (random weights, nothing downloaded).
Skipped where the extra is not installed; README says how to run them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data

from darkroom.smart import Analyzer, SmartMethod
from darkroom.smart.yolo import ModelUnusable, YoloDetector, YoloSettings
from tests.yolo_models import RANDOM_MODEL_CONFIDENCE, YOLO_EXTRA

torch = pytest.importorskip("torch", reason=YOLO_EXTRA)

LOW = float(RANDOM_MODEL_CONFIDENCE)


def test_a_model_file_is_loaded_and_run(yolo_models: dict[str, Path]) -> None:
    detector = YoloDetector(YoloSettings(yolo_models["objects"], confidence=LOW))
    assert detector.names[0] == "0" and len(detector.names) == 80
    assert detector.text_labels == frozenset()
    picture = np.ascontiguousarray(skimage.data.astronaut()[:, :400])  # 512 x 400
    found = detector.detect(picture)
    assert found, "a random model scores every box above this confidence"
    assert [d.confidence for d in found] == sorted((d.confidence for d in found), reverse=True)
    for box in found:
        assert box.label in detector.names.values()
        assert 0 <= box.left < box.left + box.width <= 400
        assert 0 <= box.top < box.top + box.height <= 512
    strict = YoloDetector(YoloSettings(yolo_models["objects"], confidence=0.5))
    assert strict.detect(picture) == []  # nothing a random model is sure of


def test_auto_uses_the_model_and_lettering_classes_are_found(
    yolo_models: dict[str, Path],
) -> None:
    picture = skimage.data.coffee()  # no face: auto turns to the model
    objects = YoloDetector(YoloSettings(yolo_models["objects"], confidence=LOW))
    choice = Analyzer(lambda: objects).choose(picture, 200, 400, SmartMethod.AUTO)
    assert choice.method == "objects"
    assert 0 <= choice.left <= picture.shape[1] - 200 and choice.height == 400
    text = YoloDetector(YoloSettings(yolo_models["text"], confidence=LOW))
    assert text.text_labels == frozenset({"speech bubble"})
    page = Analyzer(lambda: text).page(picture)
    assert page.text_source == "objects" and 0 < page.text_ratio <= 1


def test_what_cannot_be_used_is_refused_with_a_reason(
    yolo_models: dict[str, Path], tmp_path: Path
) -> None:
    # A hub name that is not a file here: refused before ultralytics could fetch it.
    with pytest.raises(ModelUnusable, match="not found"):
        YoloDetector(YoloSettings(tmp_path / "yolo26n.pt"))
    with pytest.raises(ModelUnusable, match="classify model"):
        YoloDetector(YoloSettings(yolo_models["classify"]))
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelUnusable, match="cannot load"):
        YoloDetector(YoloSettings(broken))
    if not torch.cuda.is_available():
        with pytest.raises(ModelUnusable, match="no CUDA"):
            YoloDetector(YoloSettings(yolo_models["objects"], device="cuda"))
