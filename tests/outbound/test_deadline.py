"""A time limit on an outbound request is a deadline for all of it, not a limit on each
read: servers on loopback that trickle their answer, one small piece every 0.3 s for up to
60 s, are cut off at the limit. Without the deadline every such request would last the
full minute, past the bounds these tests wait for."""

from __future__ import annotations

import base64
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from darkroom.dialects.imagejobs_backend import HttpBackend, Unavailable
from darkroom.outbound import AllowList, OutboundGuard, deadline, outbound_client
from darkroom.worker.fetch import DownloadLimits, FetchError, download
from tests.helpers import LoopbackServer, make_image, on_sqlite, wait_until

pytestmark = pytest.mark.timeout(60)

PIECES = 200  # at one every 0.3 s: a minute


class Trickle:
    """A route whose answer comes one byte every 0.3 s: the status line and headers
    (``part="head"``) or the body after prompt headers (``part="body"``). ``gone`` is set
    when the client hangs up before the end."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.sent = 0
        self.gone = threading.Event()
        self.stop = threading.Event()

    def __call__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        if self.part == "head":
            prompt = b""
            slow = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * PIECES + b"\r\n\r\n"
        else:
            prompt = (
                f"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {PIECES}\r\n\r\n"
            ).encode()
            slow = b"x" * PIECES
        try:
            handler.wfile.write(prompt)
            for byte in slow:
                if self.stop.wait(0.3):
                    return
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                self.sent += 1
        except OSError:  # the client hung up
            self.gone.set()


@pytest.fixture
def trickle(loopback: LoopbackServer) -> Iterator[dict[str, Trickle]]:
    routes = {part: Trickle(part) for part in ("head", "body")}
    for part, route in routes.items():
        loopback.routes[f"/{part}"] = route
    yield routes
    for route in routes.values():
        route.stop.set()  # before the server's close waits for its handlers


def _cut_off(route: Trickle) -> None:
    """The server saw the client leave before its answer was out."""
    assert route.gone.wait(10)
    assert route.sent < PIECES


@pytest.mark.parametrize("part", ["head", "body"])
def test_download_is_cut_off_at_its_deadline(
    loopback: LoopbackServer, trickle: dict[str, Trickle], part: str
) -> None:
    guard = OutboundGuard(AllowList.parse("127.0.0.1"))
    limits = DownloadLimits(max_bytes=1_000_000, timeout_s=1, max_redirects=3)
    with outbound_client() as client, pytest.raises(FetchError) as failed:
        download(client, guard, loopback.url(f"/{part}"), limits)
    assert failed.value.code == "download_timeout"
    assert "longer than 1 s" in failed.value.message
    _cut_off(trickle[part])


def test_the_deadline_covers_every_redirect(loopback: LoopbackServer) -> None:
    """Each hop answers well within the limit; together they do not."""

    def slow_redirect(handler: Any) -> None:
        time.sleep(0.3)
        handler.send_response(302)
        handler.send_header("Location", "/hop")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    loopback.routes["/hop"] = slow_redirect
    guard = OutboundGuard(AllowList.parse("127.0.0.1"))
    limits = DownloadLimits(max_bytes=1_000_000, timeout_s=1, max_redirects=50)
    with outbound_client() as client, pytest.raises(FetchError) as failed:
        download(client, guard, loopback.url("/hop"), limits)
    assert failed.value.code == "download_timeout"
    assert loopback.hits["/hop"] < 50


def test_requests_outside_a_deadline_keep_httpx_timeouts(loopback: LoopbackServer) -> None:
    """A connection kept alive after a request under a deadline serves the next request,
    which has none, to the end; nested deadlines keep the sooner one."""
    image = loopback.serve_bytes("/a.jpg", make_image(16, 16))
    with outbound_client() as client:
        with deadline(5):
            assert client.get(image).status_code == 200
        time.sleep(0.1)
        assert client.get(image).status_code == 200  # the first deadline is no longer there
        with deadline(0.5) as soon, deadline(30) as late:
            assert late == soon


@on_sqlite
def test_a_trickling_source_fails_the_job_with_download_timeout(
    api_factory: Any, loopback: LoopbackServer, trickle: dict[str, Trickle]
) -> None:
    api = api_factory(workers=1, DARKROOM_DOWNLOAD_TIMEOUT_S="1", DARKROOM_MAX_ATTEMPTS="1")
    job = api.submit({"source": {"url": loopback.url("/body")}})
    done = api.wait_job(job["id"], timeout_s=20)
    assert (done["status"], done["error"]["code"]) == ("failed", "download_timeout")
    _cut_off(trickle["body"])


@on_sqlite
def test_a_trickling_webhook_receiver_is_cut_off(
    api_factory: Any, loopback: LoopbackServer, trickle: dict[str, Trickle]
) -> None:
    loopback.routes["/hook"] = trickle["head"]
    api = api_factory(workers=1, DARKROOM_WEBHOOK_TIMEOUT_S="1", DARKROOM_WEBHOOK_ATTEMPTS="1")
    job = api.submit(
        {
            "source": {"base64": base64.b64encode(make_image(16, 16)).decode()},
            "webhook_url": loopback.url("/hook"),
        }
    )

    def failed() -> dict[str, Any] | None:
        hook: dict[str, Any] = api.job(job["id"])["webhook"]
        return hook if hook["state"] == "failed" else None

    hook = wait_until(failed, 20)
    assert hook["last_error"] == "timed out after 1 s"
    assert len(loopback.received) == 1
    _cut_off(trickle["head"])


def test_the_imagejobs_backend_call_is_cut_off(
    loopback: LoopbackServer, trickle: dict[str, Trickle]
) -> None:
    loopback.routes["/api/image-jobs/j1"] = trickle["body"]
    backend = HttpBackend(
        loopback.url(""),
        outbound_client(),
        worker_token=None,
        access_token=None,
        cookie_name="token",
        timeout_s=1,
    )
    with pytest.raises(Unavailable, match="GET /api/image-jobs/j1"):
        backend.fetch("j1")
    _cut_off(trickle["body"])
    backend.client.close()
