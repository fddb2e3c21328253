"""Request bodies are bounded before they are held whole (api/body_limit.py): a JSON
body over DARKROOM_MAX_JSON_BYTES, declared or streamed, is refused with 413 in the
answering API's own shape, while multipart uploads keep their own limit."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import make_image, on_sqlite

# The limit acts in the HTTP layer, before any engine is reached.
pytestmark = on_sqlite

MiB = 1024 * 1024
HUGE = 300 * MiB  # far over any limit below, sent 1 MiB at a time


def _body(total: int, prefix: bytes = b'{"source": {"base64": "') -> Iterator[bytes]:
    """``total`` bytes of a JSON job request, never held whole: one chunk made once."""
    chunk = b"A" * MiB
    yield prefix
    sent = len(prefix)
    while sent < total:
        piece = chunk[: min(MiB, total - sent)]
        sent += len(piece)
        yield piece


def _post(client: httpx.Client, path: str, total: int, *, declared: bool) -> httpx.Response:
    """POST ``total`` bytes streamed from a generator; with ``declared`` the length is sent
    up front (Content-Length), else the body is chunked."""
    headers = {"content-type": "application/json"}
    if declared:
        headers["content-length"] = str(total)
    return client.post(path, content=_body(total), headers=headers)


def _memory(pid: int) -> dict[str, int]:
    """The process's resident set now (VmRSS) and at its peak (VmHWM), in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def test_a_body_far_over_the_limit_costs_the_api_no_memory(serve_factory: Any) -> None:
    """300 MB to the native API and to a dialect's JSON route, with and without a
    Content-Length: each is refused, and the API process grows by no more than a few MiB
    (the issue: a 400 MB body took it from 221 MB to 1.38 GB)."""
    server = serve_factory(
        workers=0, DARKROOM_MAX_JSON_BYTES=str(MiB), DARKROOM_DIALECTS="smartcrop@/sc"
    )
    assert server.process is not None
    pid = server.process.pid
    routes = {"/v1/jobs": "payload_too_large", "/sc/thumbnail": None}

    def refused(total: int) -> None:
        for path, code in routes.items():
            for declared in (True, False):
                answer = _post(server.client, path, total, declared=declared)
                assert answer.status_code == 413, (path, declared, answer.text)
                if code is None:  # the smartcrop service's own error shape
                    assert answer.json() == {"error": f"request body larger than {MiB} bytes"}
                else:
                    assert answer.json()["error"]["code"] == code
                    assert str(MiB) in answer.json()["error"]["message"]

    refused(3 * MiB)  # every path once, so what it loads is loaded before measuring
    before = _memory(pid)["VmRSS"]
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM from now on
    refused(HUGE)
    after = _memory(pid)
    assert after["VmRSS"] - before < 32 * MiB, (before, after)
    assert after["VmHWM"] - before < 32 * MiB, (before, after)
    # and the process serves on
    assert server.client.get("/v1/jobs").status_code == 200


def test_each_api_refuses_in_its_own_shape(api_factory: Any) -> None:
    limit = 20_000
    api = api_factory(
        workers=0,
        DARKROOM_MAX_JSON_BYTES=str(limit),
        DARKROOM_DIALECTS="smartcrop@/sc,thumbforge@/tf,imageproc@/ip,greenvue@/gv",
    )
    message = f"request body larger than {limit} bytes"
    over = limit + 1
    for declared in (True, False):
        native = _post(api.client, "/v1/jobs", over, declared=declared)
        assert native.status_code == 413
        assert native.json() == {"error": {"code": "payload_too_large", "message": message}}
    dialects = {
        "/sc/thumbnail": {"error": message},  # the routes that parse their own body
        "/tf/v1/images": {"detail": message},  # and those FastAPI parses
        "/ip/jobs": {"error": message},
        "/gv/api/jobs": {"success": False, "status": "error", "message": message},
    }
    for path, shape in dialects.items():
        for declared in (True, False):
            answer = _post(api.client, path, over, declared=declared)
            assert (answer.status_code, answer.json()) == (413, shape), path
    # a body labelled multipart is bounded all the same where a JSON route reads it
    labelled = api.client.post(
        "/tf/v1/images",
        content=b"x" * over,
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert (labelled.status_code, labelled.json()) == (413, {"detail": message})
    # under the limit, the same routes read their bodies as before
    assert api.client.post("/tf/v1/images", json={"url": "nope"}).status_code == 422
    assert api.client.post("/v1/jobs", json={"outputs": []}).status_code == 422


def test_multipart_uploads_keep_their_own_limit(api_factory: Any) -> None:
    """An upload larger than the JSON limit is taken (multipart streams to spooled files)
    and refused only over DARKROOM_MAX_UPLOAD_BYTES, as before."""
    image = make_image(300, 300, Q=100)
    api = api_factory(
        workers=0,
        DARKROOM_MAX_JSON_BYTES=str(len(image) // 4),
        DARKROOM_MAX_UPLOAD_BYTES=str(len(image) + 1000),
        DARKROOM_DIALECTS="greenvue@/gv",
    )
    assert api.upload(image).status_code == 202
    listing = api.client.post(
        "/gv/api/upload/listing_image",
        data={"listing_title": "a house"},
        files=[("file", ("a.jpg", image, "image/jpeg")), ("file", ("b.jpg", image, "image/jpeg"))],
    )
    assert (listing.status_code, listing.json()["data"]["image_count"]) == (200, 2)
    two = [("file", ("a.jpg", image, "image/jpeg")), ("file", ("b.jpg", image, "image/jpeg"))]
    assert api.client.post("/v1/jobs", files=two).status_code == 202
    too_big = api.upload(image + b"\x00" * 2000)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"
    # the same bytes as base64 JSON are over the JSON limit
    inline = {"source": {"base64": base64.b64encode(image).decode()}}
    answer = api.client.post("/v1/jobs", json=inline)
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "payload_too_large")


def test_the_default_limit_fits_two_sources_of_the_largest_size(api_factory: Any) -> None:
    """Unset, DARKROOM_MAX_JSON_BYTES is two sources of DARKROOM_MAX_UPLOAD_BYTES in
    base64, plus 1 MiB: a pair of full-size pages goes as JSON, a third does not."""
    page = make_image(700, 700, "png")  # noise: about 1.4 MB, larger than the 1 MiB slack
    api = api_factory(workers=0, DARKROOM_MAX_UPLOAD_BYTES=str(len(page)))
    assert api.settings.json_body_limit() == 2 * ((len(page) + 2) // 3 * 4) + MiB
    encoded = base64.b64encode(page).decode()
    pair = {"sources": [{"base64": encoded}] * 2, "outputs": [{"op": "pair", "width": 320}]}
    assert api.client.post("/v1/jobs", json=pair).status_code == 202
    three = {"sources": [{"base64": encoded}] * 3}
    answer = api.client.post("/v1/jobs", json=three)
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "payload_too_large")
