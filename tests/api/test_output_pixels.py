"""An output's pixels are bounded (DARKROOM_MAX_OUTPUT_PIXELS), not only its sides: a tiny
source asked to be made huge is refused before any work, at submission when the source
is known then, else by the worker as a permanent failure."""

from __future__ import annotations

import base64
from typing import Any

from tests.helpers import LoopbackServer, make_image, on_sqlite

# Refusals act before the engines; the worker's refusal is the same on every backend.
pytestmark = on_sqlite

HUGE_AVIF = {
    "outputs": [{"op": "resize", "width": 8192, "height": 8192, "format": "avif", "enlarge": True}]
}
# the size depends on the source: a square one makes an 8192x8192 (67 MP) thumbnail
ENLARGED = {"outputs": [{"op": "thumbnail", "width": 8192, "height": 8192, "enlarge": True}]}


def error_of(resp: Any) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


def tiny_png() -> bytes:
    return make_image(4, 4, "png")


def test_a_tiny_upload_asked_to_be_huge_is_refused_at_submission(api_factory: Any) -> None:
    api = api_factory(workers=1)
    resp = api.upload(tiny_png(), HUGE_AVIF, filename="tiny.png")
    assert error_of(resp) == (422, "output_too_large")
    assert "pixels" in resp.json()["error"]["message"]
    enlarged = api.upload(tiny_png(), ENLARGED, filename="tiny.png")
    assert error_of(enlarged) == (422, "output_too_large")
    assert sum(api.client.get("/v1/stats").json()["jobs"].values()) == 0  # nothing queued
    assert api.blobs().keys("") == []  # and no source stored


def test_base64_sources_are_checked_against_their_header(api_factory: Any) -> None:
    api = api_factory(workers=1)
    body = {"source": {"base64": base64.b64encode(tiny_png()).decode()}, **ENLARGED}
    assert error_of(api.client.post("/v1/jobs", json=body)) == (422, "output_too_large")


def test_a_url_source_too_large_to_enlarge_fails_its_job_at_once(
    api_factory: Any, loopback: LoopbackServer
) -> None:
    api = api_factory(workers=1, DARKROOM_MAX_ATTEMPTS="3")
    url = loopback.serve_bytes("/tiny.png", tiny_png(), "image/png")
    # a size the request fixes is refused before the source is fetched
    fixed = api.client.post("/v1/jobs", json={"source": {"url": url}, **HUGE_AVIF})
    assert error_of(fixed) == (422, "output_too_large")
    assert loopback.hits.get("/tiny.png") is None
    # one that depends on the source is refused by the worker from the header
    job = api.wait_job(api.submit({"source": {"url": url}, **ENLARGED})["id"])
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "output_too_large"
    assert "8192x8192" in job["error"]["message"]
    assert job["attempts"] == 1  # permanent: not tried again
    assert loopback.hits["/tiny.png"] == 1
    assert not job.get("outputs")


def test_outputs_within_the_bound_are_made(api_factory: Any, loopback: LoopbackServer) -> None:
    api = api_factory(workers=1, DARKROOM_MAX_OUTPUT_PIXELS=str(200 * 100))
    within = {
        "outputs": [
            {"op": "resize", "width": 200, "height": 100, "format": "avif", "enlarge": True}
        ]
    }
    job = api.wait_job(api.upload(tiny_png(), within, filename="tiny.png").json()["id"])
    assert job["status"] == "succeeded", job
    [output] = job["outputs"]
    assert (output["width"], output["height"], output["format"]) == (200, 100, "avif")
    over = {"outputs": [{"op": "cover", "width": 201, "height": 100, "enlarge": True}]}
    assert error_of(api.upload(tiny_png(), over, filename="tiny.png")) == (422, "output_too_large")
    # a thumbnail that enlarges a square source to 141x141 (19,881 pixels) fits the bound
    url = loopback.serve_bytes("/tiny.png", tiny_png(), "image/png")
    box = {"outputs": [{"op": "thumbnail", "width": 141, "enlarge": True, "format": "png"}]}
    enlarged = api.wait_job(api.submit({"source": {"url": url}, **box})["id"])
    assert enlarged["status"] == "succeeded", enlarged
    assert (enlarged["outputs"][0]["width"], enlarged["outputs"][0]["height"]) == (141, 141)
