"""Each class of bad input gets a clear error and code, and no worker dies of it."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

from tests.helpers import LoopbackServer, make_image, on_sqlite

# Refusals, failed images and the outbound guard act before or beside the engines.
pytestmark = on_sqlite


def png_header_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def error_of(resp: Any) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


def test_submission_errors(api_factory: Any) -> None:
    api = api_factory(workers=1, DARKROOM_MAX_UPLOAD_BYTES=str(200_000))
    assert error_of(api.upload(b"\x00" * 300_000)) == (413, "payload_too_large")
    assert error_of(api.upload(png_header_bomb(20_000, 20_000))) == (422, "image_too_large")
    assert error_of(api.upload(b"<svg xmlns='http://www.w3.org/2000/svg'/>")) == (
        415,
        "unsupported_image",
    )
    assert error_of(api.upload(b"this is not an image at all")) == (415, "unsupported_image")
    assert error_of(api.upload(make_image(64, 64)[:20])) == (422, "corrupt_image")
    too_wide = {"outputs": [{"op": "thumbnail", "width": 100_000}]}
    assert error_of(api.upload(make_image(64, 64), too_wide)) == (422, "output_too_large")
    assert error_of(api.upload(make_image(64, 64), {"outputs": [{"op": "cover", "width": 5}]})) == (
        422,
        "invalid_request",
    )
    bad_json = api.client.post(
        "/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert error_of(bad_json) == (422, "invalid_request")
    assert error_of(api.client.post("/v1/jobs", json={"outputs": []})) == (422, "invalid_request")
    assert error_of(api.client.post("/v1/jobs", json={"source": {"base64": "%%%"}})) == (
        422,
        "invalid_base64",
    )
    assert error_of(api.client.post("/v1/jobs", json={"source": {"url": "ftp://x/y.jpg"}})) == (
        422,
        "invalid_request",
    )
    assert error_of(api.client.post("/v1/jobs", json={"source": {"path": "a.jpg"}})) == (
        403,
        "path_not_allowed",
    )
    assert error_of(
        api.client.post("/v1/jobs", content=b"x", headers={"content-type": "text/plain"})
    ) == (415, "unsupported_media_type")
    big = base64.b64encode(make_image(64, 64) + b"\x00" * 300_000).decode()
    assert error_of(api.client.post("/v1/jobs", json={"source": {"base64": big}})) == (
        413,
        "payload_too_large",
    )
    files = [
        ("file", ("ok.jpg", make_image(64, 64), "image/jpeg")),
        ("file", ("bad.jpg", b"not an image", "image/jpeg")),
    ]
    assert error_of(api.client.post("/v1/jobs", files=files)) == (415, "unsupported_image")
    stats = api.client.get("/v1/stats").json()
    assert sum(stats["jobs"].values()) == 0  # nothing was queued by any of these
    assert api.blobs().keys("") == []  # and nothing was left behind


def test_bad_images_fail_jobs_and_workers_survive(
    serve_factory: Any, loopback: LoopbackServer
) -> None:
    api = serve_factory(workers=1, DARKROOM_MAX_ATTEMPTS="2")
    truncated = make_image(2000, 1500)
    cases = {
        "/truncated.jpg": (truncated[: len(truncated) // 3], "corrupt_image"),
        "/bomb.png": (png_header_bomb(30_000, 30_000), "image_too_large"),
        "/text.jpg": (b"hello, I am text", "unsupported_image"),
    }
    ids = {}
    for path, (data, _code) in cases.items():
        ids[path] = api.submit({"source": {"url": loopback.serve_bytes(path, data)}})["id"]
    ids["/missing.jpg"] = api.submit({"source": {"url": loopback.url("/missing.jpg")}})["id"]
    for path, job_id in ids.items():
        job = api.wait_job(job_id)
        assert job["status"] == "failed", job
        expected = cases[path][1] if path in cases else "download_rejected"
        assert job["error"]["code"] == expected
        assert job["error"]["message"]
        assert job["attempts"] == 1  # permanent errors are not retried
    pids_before = api.client.get("/v1/admin/workers").json()["pids"]
    ok = api.wait_job(api.upload(make_image(64, 64)).json()["id"])
    assert ok["status"] == "succeeded"
    assert api.client.get("/v1/admin/workers").json()["pids"] == pids_before


def test_download_limits(api_factory: Any, loopback: LoopbackServer) -> None:
    api = api_factory(
        workers=1,
        DARKROOM_MAX_UPLOAD_BYTES=str(50_000),
        DARKROOM_DOWNLOAD_MAX_REDIRECTS="2",
        DARKROOM_MAX_ATTEMPTS="1",
    )
    big = loopback.serve_bytes("/big.jpg", make_image(64, 64) + b"\x00" * 60_000)

    def redirect_to(target: str) -> Any:
        def route(handler: Any) -> None:
            handler.send_response(302)
            handler.send_header("Location", target)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        return route

    small = loopback.serve_bytes("/small.jpg", make_image(64, 64))
    loopback.routes["/r1"] = redirect_to("/small.jpg")
    loopback.routes["/loop"] = redirect_to("/loop")
    expectations = {big: "download_too_large", loopback.url("/loop"): "too_many_redirects"}
    for url, code in expectations.items():
        job = api.wait_job(api.submit({"source": {"url": url}})["id"])
        assert (job["status"], job["error"]["code"]) == ("failed", code)
    job = api.wait_job(api.submit({"source": {"url": loopback.url("/r1")}})["id"])
    assert job["status"] == "succeeded"
    assert small.endswith("/small.jpg")


def test_forbidden_destinations_are_refused_at_submission(
    api_factory: Any, loopback: LoopbackServer
) -> None:
    """Loopback left out of the allow-list: source and webhook URLs that resolve to it are
    refused before any request is made. (Metadata and private addresses are refused by the
    same check; tests/outbound shows it without sending anything there.)"""
    api = api_factory(workers=1, DARKROOM_OUTBOUND_ALLOW="")
    image = loopback.serve_bytes("/a.jpg", make_image(64, 64))
    for url in (
        image,
        image.replace("127.0.0.1", "localhost"),
        image.replace("127.0.0.1", "[::1]"),
    ):
        status, code = error_of(api.client.post("/v1/jobs", json={"source": {"url": url}}))
        assert (status, code) == (403, "forbidden_destination")
    refused = api.client.post(
        "/v1/jobs",
        json={
            "source": {"base64": base64.b64encode(make_image(8, 8)).decode()},
            "webhook_url": loopback.url("/hook"),
        },
    )
    assert error_of(refused) == (403, "forbidden_destination")
    assert "loopback" in refused.json()["error"]["message"]
    assert loopback.hits == {}


def test_every_redirect_hop_is_checked(api_factory: Any, loopback: LoopbackServer) -> None:
    api = api_factory(workers=1, DARKROOM_OUTBOUND_ALLOW="127.0.0.1", DARKROOM_MAX_ATTEMPTS="1")

    def elsewhere(handler: Any) -> None:
        handler.send_response(302)
        handler.send_header("Location", f"http://127.0.0.2:{loopback.port}/a.jpg")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    loopback.routes["/away"] = elsewhere
    loopback.serve_bytes("/a.jpg", make_image(64, 64))
    job = api.wait_job(api.submit({"source": {"url": loopback.url("/away")}})["id"])
    assert (job["status"], job["error"]["code"]) == ("failed", "forbidden_destination")
    assert "127.0.0.2" in job["error"]["message"]
    assert loopback.hits == {"/away": 1}
