"""Smart cover crops through the service: the job reports each output's crop."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import pyvips

from tests.helpers import make_image

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _scene() -> bytes:
    """900 x 300: flat grey, and a busy patch near the right edge (x 740-860)."""
    flat = pyvips.Image.black(900, 300, bands=3).new_from_image([128, 128, 128])
    patch = pyvips.Image.gaussnoise(120, 120, mean=128, sigma=60).cast("uchar")
    scene = flat.insert(patch.bandjoin([patch, patch.flip("horizontal")]), 740, 90)
    data: bytes = scene.copy(interpretation="srgb").jpegsave_buffer(Q=92)
    return data


def test_cover_outputs_report_where_they_were_cut(api_factory: Any) -> None:
    api = api_factory(workers=1)
    outputs = [
        {"name": "auto", "op": "cover", "width": 300, "height": 300, "gravity": "auto"},
        {"name": "centre", "op": "cover", "width": 300, "height": 300},
        {"name": "point", "op": "cover", "width": 300, "height": 300, "focus": {"x": 0, "y": 0}},
        {"name": "thumb", "op": "thumbnail", "width": 100},
    ]
    job = api.submit(
        {"source": {"base64": base64.b64encode(_scene()).decode()}, "outputs": outputs}
    )
    done = api.wait_job(job["id"])
    assert done["status"] == "succeeded", done
    crops = {o["name"]: o["crop"] for o in done["outputs"]}
    assert crops["thumb"] is None
    assert crops["centre"] == {
        "x": 300, "y": 0, "width": 300, "height": 300, "method": "centre", "confidence": None
    }  # fmt: skip
    auto = crops["auto"]
    assert (auto["y"], auto["width"], auto["height"], auto["method"]) == (0, 300, 300, "attention")
    assert 560 <= auto["x"] <= 600 and 0 < auto["confidence"] <= 1
    assert crops["point"]["x"] == 0 and crops["point"]["method"] == "focus"
    assert done["outputs"][2]["op"] == "cover"


def test_smart_crop_requests_are_checked(api_factory: Any) -> None:
    api = api_factory(workers=0)
    image = base64.b64encode(make_image(64, 64)).decode()
    bad = [
        {"op": "cover", "width": 10, "height": 10, "gravity": "focus"},
        {"op": "cover", "width": 10, "height": 10, "gravity": "north", "focus": {"x": 1, "y": 1}},
        {"op": "cover", "width": 10, "height": 10, "focus": {"x": 2, "y": 0}},
        {"op": "cover", "width": 10, "height": 10, "gravity": "attention", "max_analysis_size": 8},
    ]
    for output in bad:
        resp = api.client.post("/v1/jobs", json={"source": {"base64": image}, "outputs": [output]})
        assert resp.status_code == 422, (output, resp.text)
        assert resp.json()["error"]["code"] == "invalid_request"
