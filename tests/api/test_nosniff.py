"""Every answer says ``X-Content-Type-Options: nosniff`` (darkroom/api/nosniff.py): a
browser takes an output for the image its Content-Type names, never for HTML or script.
The dialects' image routes are checked in their own tests (tests/dialects/)."""

from __future__ import annotations

from typing import Any

import pyvips

from tests.helpers import make_image, on_sqlite


@on_sqlite  # the subject is the HTTP answer, not the engines
def test_outputs_as_stored_and_converted_are_not_sniffed(api: Any) -> None:
    job = api.wait_job(api.upload(make_image(300, 200)).json()["id"])
    assert job["status"] == "succeeded"
    url = f"/v1/jobs/{job['id']}/outputs/default"

    stored = api.client.get(url)
    assert stored.status_code == 200 and stored.headers["content-type"].startswith("image/")
    assert stored.headers["x-content-type-options"] == "nosniff"
    assert stored.headers["etag"] and "immutable" in stored.headers["cache-control"]
    assert pyvips.Image.new_from_buffer(stored.content, "").width > 0  # the body, whole

    variant = api.client.get(url, params={"format": "webp", "width": 50})
    assert variant.status_code == 200 and variant.headers["content-type"] == "image/webp"
    assert variant.headers["x-content-type-options"] == "nosniff"
    assert pyvips.Image.new_from_buffer(variant.content, "").width == 50
    assert variant.headers.get_list("x-content-type-options") == ["nosniff"]  # once

    unchanged = api.client.get(url, headers={"If-None-Match": stored.headers["etag"]})
    assert unchanged.status_code == 304
    assert unchanged.headers["x-content-type-options"] == "nosniff"

    # JSON answers and errors carry it too: nothing a browser renders is sniffed
    assert api.client.get(f"/v1/jobs/{job['id']}").headers["x-content-type-options"] == "nosniff"
    missing = api.client.get("/v1/jobs/nope/outputs/default")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert missing.headers["x-content-type-options"] == "nosniff"
