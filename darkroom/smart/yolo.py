"""Object detection with an ultralytics YOLO model that the operator provides as a local
file. Nothing is fetched: ultralytics is imported offline, and a model path that is not
an existing file is refused before ultralytics sees it (it would try to download it).

A model file is a pickle and runs code when loaded: give only files you trust.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from darkroom.smart.objects import Detection

if TYPE_CHECKING:
    from darkroom.smart.saliency import RGB

# Class names that mean lettering, as the manga and comic text models name them.
DEFAULT_TEXT_LABELS = frozenset(
    {"text", "text bubble", "speech bubble", "speech_bubble", "bubble", "balloon", "caption"}
)
# Tasks whose results carry axis-aligned boxes.
BOXED_TASKS = frozenset({"detect", "segment", "pose"})


class ModelUnusable(RuntimeError):
    """The configured model cannot be loaded or cannot run where it was asked to."""


@dataclass(frozen=True)
class YoloSettings:
    model: Path
    device: str = "cpu"  # cpu, cuda or cuda:N
    confidence: float = 0.25  # detections below this are dropped
    image_size: int = 640  # the model's input size; pictures are letterboxed to it
    text_labels: frozenset[str] = DEFAULT_TEXT_LABELS


def offline_ultralytics(config_dir: Path | None = None) -> ModuleType:
    """The ultralytics package, imported so that it never reaches the network (no
    connectivity probes, no package installs) and keeps its settings file out of the
    home folder."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_VERBOSE", "false")
    if "YOLO_CONFIG_DIR" not in os.environ:
        folder = config_dir or Path(tempfile.gettempdir()) / "darkroom-ultralytics"
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(folder)
    return importlib.import_module("ultralytics")


class LoadedModel:
    """What a loaded detector of either runtime knows: its settings, its class names, and
    which of them mark lettering."""

    names: dict[int, str]

    def _adopt(self, settings: YoloSettings, names: dict[int, str]) -> None:
        self._settings = settings
        self.names = names
        self._text_labels = frozenset(
            name.lower() for name in names.values() if name.lower() in settings.text_labels
        )

    @property
    def text_labels(self) -> frozenset[str]:
        return self._text_labels

    def __repr__(self) -> str:
        model, device = str(self._settings.model), self._settings.device
        return f"{type(self).__name__}(model={model!r}, device={device!r})"


class YoloDetector(LoadedModel):
    """Loads the model once; ``detect`` may then be called for every image."""

    def __init__(self, settings: YoloSettings) -> None:
        if not settings.model.is_file():
            raise ModelUnusable(f"YOLO model file not found: {settings.model}")
        if settings.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ModelUnusable(f"YOLO device {settings.device} asked for, but no CUDA")
        ultralytics = offline_ultralytics()
        try:
            self._model: Any = ultralytics.YOLO(str(settings.model))
        except Exception as exc:
            raise ModelUnusable(f"cannot load YOLO model {settings.model}: {exc}") from exc
        if self._model.task not in BOXED_TASKS:
            raise ModelUnusable(
                f"YOLO model {settings.model} is a {self._model.task} model; "
                f"smart crops need one of {sorted(BOXED_TASKS)}"
            )
        if settings.device == "cpu":
            import torch

            torch.set_num_threads(1)  # one worker, one core; the pool runs several
        self._adopt(settings, {int(k): str(v) for k, v in self._model.names.items()})

    def detect(self, rgb: RGB) -> list[Detection]:
        settings = self._settings
        bgr = rgb[..., ::-1]  # ultralytics reads arrays as OpenCV does
        result = self._model.predict(
            bgr,
            device=settings.device,
            conf=settings.confidence,
            imgsz=settings.image_size,
            verbose=False,
        )[0]
        rows, cols = rgb.shape[:2]
        found = []
        boxes = result.boxes
        for (x0, y0, x1, y1), label, confidence in zip(
            boxes.xyxy.tolist(), boxes.cls.tolist(), boxes.conf.tolist(), strict=True
        ):
            left, top = max(0, round(x0)), max(0, round(y0))
            right, bottom = min(cols, round(x1)), min(rows, round(y1))
            if right > left and bottom > top:
                found.append(
                    Detection(
                        left,
                        top,
                        right - left,
                        bottom - top,
                        self.names.get(int(label), str(int(label))),
                        float(confidence),
                    )
                )
        return sorted(found, key=lambda d: -d.confidence)
