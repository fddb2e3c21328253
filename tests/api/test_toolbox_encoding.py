"""Encoding options and placeholders through the API: what the outputs and the source
facts say, and what is refused at submission."""

from __future__ import annotations

import json
from typing import Any

import pytest

from darkroom.imaging import Limits, Operation, OutputFormat, RenderSpec, render
from tests.helpers import make_image, on_sqlite
from tests.imaging.encoded import jpeg_frame_marker, thumbhash_average, webp_chunks
from tests.imaging.samples import close, quadrants, save

pytestmark = on_sqlite  # what is encoded does not depend on the engines


def test_max_bytes_is_met_and_its_quality_reported(api_factory: Any) -> None:
    source = make_image(240, 160)
    plain = render(
        source, [RenderSpec(Operation.THUMBNAIL, 200, format=OutputFormat.JPEG)], Limits()
    )[0]
    budget = len(plain.data) * 6 // 10
    spec = {
        "outputs": [
            {"name": "small", "width": 200, "format": "jpeg", "max_bytes": budget},
            {"name": "deep", "width": 200, "format": "jpeg", "progressive": True},
            {"name": "exact", "op": "convert", "format": "webp", "lossless": True},
            {"name": "both", "width": 200, "formats": ["jpeg", "avif"], "effort": 3},
        ]
    }
    api = api_factory(workers=1)
    job = api.wait_job(api.upload(source, spec).json()["id"])
    assert job["status"] == "succeeded", job
    outputs = {o["name"]: o for o in job["outputs"]}
    small, deep, exact = outputs["small"], outputs["deep"], outputs["exact"]
    assert small["bytes"] <= budget and small["quality"] < 85
    assert deep["quality"] == 85 and exact["quality"] is None
    fetched = {name: api.client.get(o["url"]).content for name, o in outputs.items()}
    assert len(fetched["small"]) == small["bytes"]
    assert jpeg_frame_marker(fetched["deep"]) == 0xC2
    assert b"VP8L" in webp_chunks(fetched["exact"])


def test_max_bytes_out_of_reach_fails_the_job(api_factory: Any) -> None:
    spec = {"outputs": [{"op": "convert", "format": "jpeg", "max_bytes": 512}]}
    api = api_factory(workers=1)
    job = api.wait_job(api.upload(make_image(600, 400), spec).json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "output_too_large"
    assert "bytes at quality 1, over max_bytes 512" in job["error"]["message"]


@pytest.mark.parametrize(
    ("output", "field"),
    [
        ({"format": "jpeg", "lossless": True}, "lossless"),
        ({"format": "gif", "lossless": True}, "lossless"),
        ({"format": "png", "max_bytes": 10_000}, "max_bytes"),
        ({"format": "webp", "lossless": True, "max_bytes": 10_000}, "max_bytes"),
        ({"format": "jpeg", "max_bytes": 100}, "max_bytes"),
        ({"format": "jpeg", "effort": 4}, "effort"),
        ({"formats": ["png", "jpeg"], "effort": 4}, "effort"),
        ({"format": "avif", "effort": 10}, "effort"),
    ],
)
def test_options_a_format_cannot_honour_are_refused(
    api_factory: Any, output: dict[str, Any], field: str
) -> None:
    api = api_factory(workers=0)
    resp = api.upload(make_image(32, 32), {"outputs": [{"width": 16, **output}]})
    assert resp.status_code == 422, resp.text
    assert field in json.dumps(resp.json()["error"])


def test_placeholders_are_in_the_source_facts(api_factory: Any) -> None:
    # three quarters orange, a quarter blue
    orange, blue = (230, 120, 30), (20, 40, 200)
    source = save(quadrants(160, 120, [orange, orange, blue, orange]), ".png")
    outputs = [{"name": "thumb", "width": 64, "format": "webp"}]
    api = api_factory(workers=1)
    asked = api.wait_job(
        api.upload(source, {"outputs": outputs, "placeholders": True}, "q.png").json()["id"]
    )
    assert asked["status"] == "succeeded", asked
    facts = asked["sources"][0]
    assert facts["dominant_color"] == "#e6781e"
    assert facts["blurhash"][0] == "L"  # 4 x 3 terms: a landscape picture
    average, alpha, landscape = thumbhash_average(facts["thumbhash"])
    expected = [(3 * o + b) / 4 for o, b in zip(orange, blue, strict=True)]
    assert close(average, expected, 12) and alpha == 1 and landscape
    assert facts["width"] == 160 and facts["sha256"]  # the probed facts are still there

    plain = api.wait_job(api.upload(source, {"outputs": outputs}, "q.png").json()["id"])
    assert plain["status"] == "succeeded"
    assert [plain["sources"][0][k] for k in ("blurhash", "thumbhash", "dominant_color")] == [
        None,
        None,
        None,
    ]
