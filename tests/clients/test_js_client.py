"""The JavaScript client (clients/js) against a running `darkroom serve`, run by node's own
test runner: clients/js/test/client.test.mjs does the calls; this module starts the
server under API keys with a URL signing key and an input folder, serves images over
loopback, and hands node what it checks against (a webhook delivery signed by darkroom's
own code, a signing vector this side checks too). Skipped where node 18+ is missing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from darkroom.webhooks.signing import new_secret, signature_headers
from tests.helpers import REPO, LoopbackServer, darkroom_env, free_port, make_image, on_sqlite

TEST_FILE = REPO / "clients" / "js" / "test" / "client.test.mjs"
URL_SIGNING_KEY = "js-client-signing-key"
LABEL = "js-client"

# One signed variant URL, worked out from the scheme (docs/api.md): the node side must
# produce exactly this URL from the same path, parameters and key.
VECTOR_PATH = "/v1/jobs/0123abcd/outputs/card"
VECTOR_PARAMS = [
    ["width", "320"],
    ["tag", "b c"],
    ["format", "webp"],
    ["tag", "a*~'!()"],
    ["q", "é/ü&="],
    ["dpr", "1.5"],
]
VECTOR_KEY = "clé ✓"
VECTOR_SIGNATURE = "eaxtSBOv7jGq0nKxF3phOBAlljrjeQ8WfVZaUQ7omVo"


def node_18() -> str | None:
    """The path of a node of version 18 or later, or None."""
    node = shutil.which("node")
    if node is None:
        return None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    major = re.match(r"v(\d+)\.", version.stdout.strip())
    return node if major and int(major.group(1)) >= 18 else None


def signed_vector_url() -> str:
    """The vector's URL, signed as the scheme says: HMAC-SHA256 over the path and the
    sorted, form-encoded parameters; base64url without padding."""
    query = urlencode(sorted((name, value) for name, value in VECTOR_PARAMS))
    digest = hmac.new(
        VECTOR_KEY.encode(), f"{VECTOR_PATH}?{query}".encode(), hashlib.sha256
    ).digest()
    signature = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return f"{VECTOR_PATH}?{query}&signature={signature}"


def test_the_signing_vector_is_the_schemes() -> None:
    assert signed_vector_url().endswith(f"&signature={VECTOR_SIGNATURE}")


def held(release: threading.Event) -> Any:
    """A route that answers only once ``release`` is set: a job downloading it stays
    unfinished until then."""

    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        release.wait(60)
        handler.send_error(404)

    return route


def api_key(data_dir: Path) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "darkroom", "keys", "create", "js-client"],
        capture_output=True,
        text=True,
        env=darkroom_env(data_dir),
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def signed_webhook() -> dict[str, Any]:
    """A delivery as darkroom's sender makes it, signed by darkroom's own code."""
    secret = new_secret()
    body = json.dumps(
        {
            "type": "job.succeeded",
            "timestamp": "2026-11-22T06:00:00.412000+00:00",
            "data": {"id": "job-with-webhook", "status": "succeeded", "labels": {"album": "été"}},
        },
        ensure_ascii=False,
    )
    headers = signature_headers(secret, "msg_js_client", int(time.time()), body.encode())
    return {
        "body": body,
        "headers": headers,
        "secret": secret,
        "otherSecret": new_secret(),
        "jobId": "job-with-webhook",
    }


@on_sqlite
def test_js_client_against_a_running_server(
    serve_factory: Any, loopback: LoopbackServer, tmp_path: Path
) -> None:
    node = node_18()
    if node is None:
        pytest.skip("node 18 or later is not installed: the JavaScript client is not tested")
    photo = make_image(160, 120)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "photo.jpg").write_bytes(photo)
    image_path = tmp_path / "photo.jpg"
    image_path.write_bytes(photo)
    release = threading.Event()
    loopback.routes["/held.jpg"] = held(release)

    data_dir = tmp_path / "data"
    key = api_key(data_dir)
    server = serve_factory(
        workers=2,
        data_dir=data_dir,
        wait_workers=0,  # /v1/stats, which start() would poll, asks for a key
        DARKROOM_AUTH="keys",
        DARKROOM_URL_SIGNING_KEY=URL_SIGNING_KEY,
        DARKROOM_INPUT_ROOT=str(inputs),
    )
    fixture = {
        "apiKey": key,
        "urlSigningKey": URL_SIGNING_KEY,
        "label": LABEL,
        "imagePath": str(image_path),
        "pathSource": "photo.jpg",
        "urlSource": loopback.serve_bytes("/photo.jpg", photo),
        "missingUrl": loopback.url("/missing.jpg"),
        "heldUrl": loopback.url("/held.jpg"),
        "closedPort": free_port(),
        "vector": {
            "path": VECTOR_PATH,
            "params": VECTOR_PARAMS,
            "key": VECTOR_KEY,
            "url": signed_vector_url(),
        },
        "webhook": signed_webhook(),
    }
    fixture_path = tmp_path / "fixture.json"
    fixture_path.write_text(json.dumps(fixture))
    try:
        run = subprocess.run(
            [node, str(TEST_FILE), server.url, str(fixture_path)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=240,
            check=False,
        )
    finally:
        release.set()
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"{output}\n--- server log ---\n{server.log()[-4000:]}"
    summary = dict(re.findall(r"^(?:#|ℹ) (pass|fail|skipped|todo) (\d+)$", output, re.M))
    assert summary.get("fail") == "0" and summary.get("skipped") == "0", output
    assert int(summary.get("pass", "0")) >= 12 and "# SKIP" not in output, output
