"""Which object detector a configured model file needs: an ONNX export runs on
onnxruntime (the ``onnx`` extra), any other file on ultralytics (the ``yolo`` extra)."""

from __future__ import annotations

from darkroom.smart.objects import ObjectDetector
from darkroom.smart.yolo import YoloSettings


def open_detector(settings: YoloSettings) -> ObjectDetector:
    """The detector for ``settings.model``, loaded; raises ModelUnusable."""
    if settings.model.suffix.lower() == ".onnx":
        from darkroom.smart.onnx_yolo import OnnxYoloDetector

        return OnnxYoloDetector(settings)
    from darkroom.smart.yolo import YoloDetector

    return YoloDetector(settings)
