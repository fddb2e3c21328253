"""YOLO models built from ultralytics' own configs, with random weights: nothing is
downloaded. They exercise loading and inference, not what a trained model finds."""

from __future__ import annotations

from pathlib import Path

from darkroom.smart.yolo import offline_ultralytics

# Why the .pt tests are skipped without ultralytics, and how to run them.
YOLO_EXTRA = (
    "the .pt (ultralytics) path needs the yolo extra: DARKROOM_EXTRAS=test,yolo "
    "./scripts/test tests/smart/test_yolo.py tests/api/test_object_model.py"
)

# A random model scores every box about 1.6e-4, all of its first class; below that, it
# finds boxes in any picture.
RANDOM_MODEL_CONFIDENCE = "0.0001"


def build_model(config: str, path: Path, first_class: str | None = None) -> Path:
    """``config`` as ultralytics names it (yolov8n.yaml); ``first_class`` renames class 0."""
    model = offline_ultralytics().YOLO(config)
    if first_class is not None:
        model.model.names = {**model.model.names, 0: first_class}
    model.save(str(path))
    return path
