"""Small YOLO-shaped ONNX models the tests build with onnx's own helpers: nothing is
downloaded and no PyTorch is needed. Each answers fixed candidates whatever the picture
(plus nothing of it), laid out as ultralytics exports them, so a test knows exactly what
the detector must find."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_SIZE = 64  # the models' fixed input: 64 x 64


def candidates_model(
    path: Path,
    candidates: list[tuple[float, float, float, float, int, float]],
    names: dict[int, str],
    task: str = "detect",
) -> Path:
    """A detect model answering ``(cx, cy, w, h, class, score)`` candidates in input pixels,
    as YOLOv8 and YOLO11 exports do: (1, 4 + classes, N)."""
    table = np.zeros((1, 4 + len(names), len(candidates)), np.float32)
    for n, (cx, cy, w, h, label, score) in enumerate(candidates):
        table[0, :4, n] = (cx, cy, w, h)
        table[0, 4 + label, n] = score
    return _save(path, table, names, task)


def end_to_end_model(
    path: Path,
    detections: list[tuple[float, float, float, float, float, int]],
    names: dict[int, str],
) -> Path:
    """A model answering ``(x0, y0, x1, y1, score, class)`` detections, as models exported
    end to end do (YOLO26): (1, N, 6)."""
    table = np.array([detections], np.float32)
    return _save(path, table, names, "detect")


def classify_model(path: Path) -> Path:
    """A classification model's shape: (1, classes)."""
    return _save(path, np.full((1, 3), 0.3, np.float32), {0: "a", 1: "b", 2: "c"}, "classify")


def _save(path: Path, table: np.ndarray, names: dict[int, str], task: str) -> Path:
    picture = helper.make_tensor_value_info(
        "images", TensorProto.FLOAT, [1, 3, INPUT_SIZE, INPUT_SIZE]
    )
    answer = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(table.shape))
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["table", "nothing"], ["output0"]),
    ]
    constants = [
        numpy_helper.from_array(table, "table"),
        numpy_helper.from_array(np.array(0, np.float32), "zero"),
    ]
    graph = helper.make_graph(nodes, "yolo-shaped", [picture], [answer], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    for key, value in {
        "names": repr(names),
        "task": task,
        "imgsz": f"[{INPUT_SIZE}, {INPUT_SIZE}]",
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
