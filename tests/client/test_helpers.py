"""The client's parts that need no darkroom: webhook verification, variant signing as the
contract writes it, waiting on a server that does not hold answers, and what importing the
client loads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from darkroom.client import Client, WebhookVerificationError, sign_variant_url, verify_webhook
from darkroom.signing.variants import canonical, signature_matches
from darkroom.webhooks.signing import new_secret, signature_headers
from tests.helpers import LoopbackServer


def test_verify_webhook_takes_what_darkroom_signs() -> None:
    secret = new_secret()
    body = json.dumps({"type": "job.succeeded", "data": {"id": "j1"}}).encode()
    now = int(time.time())
    headers = signature_headers(secret, "msg_1", now, body)
    assert verify_webhook(body, headers, secret) == {"type": "job.succeeded", "data": {"id": "j1"}}
    shouting = {name.upper(): value for name, value in headers.items()}
    assert verify_webhook(body.decode(), shouting, secret)["data"]["id"] == "j1"
    for forged_body, forged_headers, key in (
        (body + b" ", headers, secret),
        (body, headers, new_secret()),
        (body, signature_headers(secret, "msg_1", now - 3600, body), secret),
        (body, {"webhook-id": "msg_1"}, secret),
    ):
        with pytest.raises(WebhookVerificationError):
            verify_webhook(forged_body, forged_headers, key)


def test_sign_variant_url_follows_the_contract() -> None:
    key = "k3y"
    url = "https://img.example/v1/jobs/j1/outputs/card?expires=99&sig=abc"
    signed = sign_variant_url(url, {"width": 300, "format": "webp", "lossless": True}, key)
    text = "/v1/jobs/j1/outputs/card?expires=99&format=webp&lossless=true&sig=abc&width=300"
    digest = hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert signed == f"https://img.example{text}&signature={expected}"
    # a path alone, a value with a space, parameters replaced, an old signature dropped
    again = sign_variant_url(
        f"/v1/jobs/j1/outputs/card?width=1&signature={expected}",
        {"width": 2, "preset": "a b"},
        key.encode(),
    )
    assert again.startswith("/v1/jobs/j1/outputs/card?preset=a+b&width=2&signature=")
    pairs = [("width", "2"), ("preset", "a b"), ("signature", again.rsplit("=", 1)[1])]
    assert canonical("/p", pairs[:2]) == "/p?preset=a+b&width=2"
    assert signature_matches(key, "/v1/jobs/j1/outputs/card", pairs)
    assert not signature_matches(key, "/v1/jobs/j1/outputs/other", pairs)
    assert not signature_matches(key, "/v1/jobs/j1/outputs/card", pairs[:2])


JOB = {
    "id": "j1",
    "status": "queued",
    "created_at": "2026-01-02T03:04:05Z",
    "outputs": [],
    "sources": [],
}


@pytest.fixture
def forgetful() -> Iterator[LoopbackServer]:
    """A server that answers GET /v1/jobs/j1 at once whatever ``wait`` asks, as one older
    than the parameter does: queued twice, then succeeded."""
    server = LoopbackServer()

    def job(handler: http.server.BaseHTTPRequestHandler) -> None:
        seen = server.hits["/v1/jobs/j1"]
        body = json.dumps({**JOB, "status": "succeeded" if seen >= 3 else "queued"}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server.routes["/v1/jobs/j1"] = job
    yield server
    server.close()


def test_wait_polls_a_server_that_answers_at_once(forgetful: LoopbackServer) -> None:
    with Client(forgetful.url("")) as client:
        job = client.wait("j1", timeout=30)
    assert job.succeeded and forgetful.hits["/v1/jobs/j1"] == 3


def test_importing_the_client_loads_no_server_code() -> None:
    probe = (
        "import sys, darkroom.client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'sqlalchemy', 'pydantic', 'pyvips', 'numpy')"
        " or m.startswith(('darkroom.api', 'darkroom.jobs', 'darkroom.store'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
