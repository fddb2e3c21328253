"""Object detection with a YOLO model exported to ONNX (``yolo export format=onnx``), run
by onnxruntime: the usual way such models run on CPUs, without PyTorch. The model is a
local file the operator provides; nothing is fetched.

Two output layouts are read, as ultralytics exports them: ``(1, 4 + classes [+ more], N)``
candidates (centre, size, then each class's score; YOLOv8, YOLO11), kept above the
confidence and thinned by non-maximum suppression here; and ``(1, N, 6)`` detections
(corners, score, class; models exported end to end, YOLO26). Class names and the task
come from the metadata ultralytics writes into the file.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from darkroom.smart.objects import Detection
from darkroom.smart.yolo import BOXED_TASKS, LoadedModel, ModelUnusable, YoloSettings

if TYPE_CHECKING:
    import numpy as np

    from darkroom.smart.saliency import RGB

IOU_THRESHOLD = 0.7  # ultralytics' default for non-maximum suppression
MAX_DETECTIONS = 300
LETTERBOX_GREY = 114


class OnnxYoloDetector(LoadedModel):
    """Loads the model once; ``detect`` may then be called for every image."""

    def __init__(self, settings: YoloSettings) -> None:
        if not settings.model.is_file():
            raise ModelUnusable(f"YOLO model file not found: {settings.model}")
        try:
            import onnxruntime
        except ModuleNotFoundError as exc:
            raise ModelUnusable(
                "ONNX models need onnxruntime: pip install 'darkroom[onnx]'"
            ) from exc
        providers = ["CPUExecutionProvider"]
        if settings.device.startswith("cuda"):
            if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
                raise ModelUnusable(f"YOLO device {settings.device} asked for, but no CUDA")
            index = settings.device.partition(":")[2] or "0"
            providers = [("CUDAExecutionProvider", {"device_id": int(index)})]  # type: ignore[list-item]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one worker, one core; the pool runs several
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session: Any = onnxruntime.InferenceSession(
                str(settings.model), options, providers=providers
            )
        except Exception as exc:
            raise ModelUnusable(f"cannot load YOLO model {settings.model}: {exc}") from exc
        metadata = self._session.get_modelmeta().custom_metadata_map
        task = metadata.get("task", "detect")
        output_shape = self._session.get_outputs()[0].shape
        if task not in BOXED_TASKS or len(output_shape) != 3:
            raise ModelUnusable(
                f"YOLO model {settings.model} is a {task} model; "
                f"smart crops need one of {sorted(BOXED_TASKS)}"
            )
        self._adopt(settings, _names(metadata.get("names", "")))
        self._input = self._session.get_inputs()[0]
        height, width = self._input.shape[2:4]
        fixed = isinstance(height, int) and isinstance(width, int)
        self._size = (height, width) if fixed else (settings.image_size, settings.image_size)

    def detect(self, rgb: RGB) -> list[Detection]:
        import numpy as np

        tensor, scale, (pad_x, pad_y) = _letterbox(rgb, self._size)
        [output] = self._session.run(
            [self._session.get_outputs()[0].name], {self._input.name: tensor}
        )
        boxes, scores, classes = self._candidates(np.asarray(output[0], dtype=np.float32))
        rows, cols = rgb.shape[:2]
        found = []
        for (x0, y0, x1, y1), score, label in zip(boxes, scores, classes, strict=True):
            left = max(0, round((x0 - pad_x) / scale))
            top = max(0, round((y0 - pad_y) / scale))
            right = min(cols, round((x1 - pad_x) / scale))
            bottom = min(rows, round((y1 - pad_y) / scale))
            if right > left and bottom > top:
                name = self.names.get(int(label), str(int(label)))
                found.append(Detection(left, top, right - left, bottom - top, name, float(score)))
        return sorted(found, key=lambda d: -d.confidence)

    def _candidates(self, output: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(corners, scores, classes) in the model's input pixels, surest first."""
        import numpy as np

        threshold = self._settings.confidence
        if output.shape[-1] == 6 and output.shape[0] != 6:  # end to end: already thinned
            kept = output[output[:, 4] >= threshold][:MAX_DETECTIONS]
            return kept[:, :4], kept[:, 4], kept[:, 5].astype(int)
        candidates = output.T  # one row per candidate
        classes_count = len(self.names) or candidates.shape[1] - 4
        class_scores = candidates[:, 4 : 4 + classes_count]
        classes = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(classes)), classes]
        keep = scores >= threshold
        centre, size = candidates[keep, 0:2], candidates[keep, 2:4]
        corners = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        chosen = _suppress(corners, scores[keep], classes[keep])
        return corners[chosen], scores[keep][chosen], classes[keep][chosen]


def _names(text: str) -> dict[int, str]:
    """Class names as ultralytics writes them into the file: ``{0: 'person', …}``."""
    try:
        value = ast.literal_eval(text) if text else {}
    except (ValueError, SyntaxError):
        return {}
    if isinstance(value, dict):
        return {int(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {i: str(v) for i, v in enumerate(value)}
    return {}


def _letterbox(rgb: RGB, size: tuple[int, int]) -> tuple[np.ndarray, float, tuple[float, float]]:
    """The picture scaled to fit ``size`` (rows, cols), centred on grey, as the model's
    input (1, 3, rows, cols) in 0..1; the scale and the padding, to map boxes back."""
    import cv2
    import numpy as np

    rows, cols = rgb.shape[:2]
    target_rows, target_cols = size
    scale = min(target_rows / rows, target_cols / cols)
    new_rows, new_cols = max(1, round(rows * scale)), max(1, round(cols * scale))
    resized = cv2.resize(
        np.ascontiguousarray(rgb), (new_cols, new_rows), interpolation=cv2.INTER_LINEAR
    )
    pad_y, pad_x = (target_rows - new_rows) / 2, (target_cols - new_cols) / 2
    canvas = np.full((target_rows, target_cols, 3), LETTERBOX_GREY, np.uint8)
    top, left = round(pad_y - 0.1), round(pad_x - 0.1)
    canvas[top : top + new_rows, left : left + new_cols] = resized
    tensor = canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return tensor, scale, (float(left), float(top))


def _suppress(corners: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> list[int]:
    """Greedy non-maximum suppression per class: indices kept, surest first."""
    import numpy as np

    order = list(np.argsort(-scores))
    kept: list[int] = []
    while order and len(kept) < MAX_DETECTIONS:
        best = order.pop(0)
        kept.append(int(best))
        if not order:
            break
        rest = np.array(order)
        x0 = np.maximum(corners[best, 0], corners[rest, 0])
        y0 = np.maximum(corners[best, 1], corners[rest, 1])
        x1 = np.minimum(corners[best, 2], corners[rest, 2])
        y1 = np.minimum(corners[best, 3], corners[rest, 3])
        overlap = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        area = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
        iou = overlap / (area[best] + area[rest] - overlap + 1e-9)
        dropped = (classes[rest] == classes[best]) & (iou > IOU_THRESHOLD)
        order = [int(i) for i in rest[~dropped]]
    return kept
