"""A JPEG cut short inside its scan, then given an end-of-image marker so that it seems to
end, fails its job as ``corrupt_image`` instead of succeeding with a grey lower part."""

from __future__ import annotations

from typing import Any

import pyvips

from tests.helpers import LoopbackServer, make_image, on_sqlite

# What is decoded, and how a failed image is recorded, does not depend on the engines.
pytestmark = on_sqlite

# a thumbnail small enough for the DCT-scaled (Pillow) decode, and a full-size convert
OUTPUTS = {
    "outputs": [
        {"name": "small", "op": "thumbnail", "width": 100, "format": "png"},
        {"name": "full", "op": "convert", "format": "png"},
    ]
}


def cut_short(data: bytes) -> bytes:
    """The JPEG cut in the middle of its scan, then ended with an EOI marker (FFD9)."""
    scan = data.index(b"\xff\xda")
    return data[: (scan + len(data)) // 2] + b"\xff\xd9"


def test_a_jpeg_cut_short_fails_as_corrupt(api_factory: Any, loopback: LoopbackServer) -> None:
    api = api_factory(workers=1, DARKROOM_MAX_ATTEMPTS="3")
    data = make_image(800, 600)
    assert pyvips.Image.new_from_buffer(data, "").avg() > 0  # a real picture, whole
    broken = cut_short(data)
    assert broken.endswith(b"\xff\xd9") and len(broken) < len(data)
    upload = api.upload(broken, OUTPUTS)
    assert upload.status_code == 202  # its header is whole: the scan is read by the worker
    url = loopback.serve_bytes("/cut.jpg", broken)
    for job_id in (upload.json()["id"], api.submit({"source": {"url": url}, **OUTPUTS})["id"]):
        job = api.wait_job(job_id)
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "corrupt_image"
        assert "premature end of data segment" in job["error"]["message"]
        assert job["attempts"] == 1  # permanent: not tried again
    whole = api.wait_job(api.upload(data, OUTPUTS).json()["id"])
    assert whole["status"] == "succeeded", whole
    assert [(o["name"], o["width"]) for o in whole["outputs"]] == [("small", 100), ("full", 800)]
