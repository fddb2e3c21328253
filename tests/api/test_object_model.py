"""A configured YOLO model through the service: loaded once per worker process, used by
auto crops and for page text. ONNX models (the default install) are built by the tests
with known answers; .pt models (the ``yolo`` extra) from ultralytics' configs, with random
weights, skipped where the extra is not installed."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyvips
import skimage.data

from tests.helpers import make_image
from tests.yolo_models import RANDOM_MODEL_CONFIDENCE

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _encoded(pixels: np.ndarray) -> str:
    image = pyvips.Image.new_from_array(np.ascontiguousarray(pixels), interpretation="srgb")
    return base64.b64encode(image.jpegsave_buffer(Q=90)).decode()


def test_the_model_is_loaded_once_per_worker_and_steers_auto_crops(
    serve_factory: Any, yolo_models: dict[str, Path]
) -> None:
    api = serve_factory(
        workers=2,
        THUMBNAIL_YOLO_MODEL=str(yolo_models["objects"]),
        THUMBNAIL_YOLO_DEVICE="cpu",
        DARKROOM_YOLO_CONFIDENCE=RANDOM_MODEL_CONFIDENCE,
    )
    coffee = _encoded(skimage.data.coffee())  # no face in it
    cover = {"name": "cover", "op": "cover", "width": 200, "height": 200, "gravity": "auto"}
    jobs = [api.submit({"source": {"base64": coffee}, "outputs": [cover]}) for _ in range(6)]
    for job in jobs:
        done = api.wait_job(job["id"], timeout_s=120)
        assert done["status"] == "succeeded", done
        crop = done["outputs"][0]["crop"]
        assert crop["method"] == "objects"  # its confidence: a random model's, about 0
        assert crop["height"] == 400 and 0 <= crop["x"] <= 600 - 400
    assert api.log().count("object detector loaded") == 2  # one per worker process


def test_pair_pages_are_measured_by_the_models_text_classes(
    api_factory: Any, yolo_models: dict[str, Path]
) -> None:
    api = api_factory(
        workers=1,
        THUMBNAIL_YOLO_MODEL=str(yolo_models["text"]),
        DARKROOM_YOLO_CONFIDENCE=RANDOM_MODEL_CONFIDENCE,
    )
    pages = [{"base64": base64.b64encode(make_image(300, 400)).decode()} for _ in range(4)]
    cover = {"name": "cover", "op": "pair", "return_candidates": True}
    job = api.submit({"sources": pages, "outputs": [cover]})
    done = api.wait_job(job["id"], timeout_s=120)
    assert done["status"] == "succeeded", done
    pair = done["outputs"][0]["pair"]
    assert {c["text_source"] for c in pair["candidates"]} == {"objects"}
    assert all(0 < c["text_ratio"] <= 1 for c in pair["candidates"])


def test_an_onnx_model_is_loaded_once_per_worker_and_places_auto_crops(
    serve_factory: Any, onnx_models: dict[str, Path]
) -> None:
    api = serve_factory(workers=2, DARKROOM_YOLO_MODEL=str(onnx_models["objects"]))
    coffee = _encoded(skimage.data.coffee())  # no face in it; the model's person: x ~525
    cover = {"name": "cover", "op": "cover", "width": 200, "height": 200, "gravity": "auto"}
    jobs = [api.submit({"source": {"base64": coffee}, "outputs": [cover]}) for _ in range(4)]
    for job in jobs:
        done = api.wait_job(job["id"], timeout_s=120)
        assert done["status"] == "succeeded", done
        crop = done["outputs"][0]["crop"]
        assert crop["method"] == "objects"
        assert crop["height"] == 400 and crop["x"] <= 525 <= crop["x"] + crop["width"]
    assert api.log().count("object detector loaded") == 2  # one per worker process
    assert "OnnxYoloDetector" in api.log()


def test_pair_pages_are_measured_by_an_onnx_models_text_classes(
    api_factory: Any, onnx_models: dict[str, Path]
) -> None:
    api = api_factory(workers=1, THUMBNAIL_YOLO_MODEL=str(onnx_models["text"]))
    pages = [{"base64": base64.b64encode(make_image(300, 400)).decode()} for _ in range(4)]
    cover = {"name": "cover", "op": "pair", "return_candidates": True}
    done = api.wait_job(api.submit({"sources": pages, "outputs": [cover]})["id"], timeout_s=120)
    assert done["status"] == "succeeded", done
    candidates = done["outputs"][0]["pair"]["candidates"]
    assert {c["text_source"] for c in candidates} == {"objects"}
    assert all(0 < c["text_ratio"] < 0.2 for c in candidates)  # two small bubbles a page
