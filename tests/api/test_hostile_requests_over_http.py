"""Issue 15, over real HTTP to a `darkroom serve` process: keys that cannot see each
other's jobs, a revoked key, signed output links, and hostile requests each answered with
its documented 4xx while the API process's memory is measured before and after (the
in-process tests of the same rules: test_access_control.py, test_request_bounds.py,
tests/outbound/test_refused_through_the_api.py, test_body_limit.py)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from darkroom.api.output_links import LinkSigner
from darkroom.config import Settings
from darkroom.store import open_engine
from darkroom.store.api_keys import ApiKeyStore
from tests.helpers import DarkroomProcess, make_image, on_sqlite
from tests.keys import as_key

# Access control and the bounds act in the HTTP layer, the same on every engine.
pytestmark = on_sqlite

MiB = 1024 * 1024


def _code(resp: httpx.Response) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


def _key_store(server: DarkroomProcess) -> ApiKeyStore:
    """The key store of the server's own database (SQLite under its data dir)."""
    db = Settings(data_dir=Path(server.env["DARKROOM_DATA_DIR"])).sqlite_path().resolve()
    return ApiKeyStore(open_engine(f"sqlite:///{db}"))


def test_keys_and_signed_links_over_http(serve_factory: Any) -> None:
    server: DarkroomProcess = serve_factory(
        workers=1,
        wait_workers=0,
        DARKROOM_AUTH="keys",  # /v1/stats needs a key here
    )
    store = _key_store(server)
    try:
        _, alice = store.create("alice")
        _, bob = store.create("bob")
        _, gone = store.create("gone")
        http = server.client  # sends no key of its own

        def submit(key: str) -> str:
            files = {"file": ("a.jpg", make_image(48, 32), "application/octet-stream")}
            resp = http.post("/v1/jobs", files=files, headers=as_key(key))
            assert resp.status_code == 202, resp.text
            job_id: str = resp.json()["id"]
            return job_id

        mine, theirs = submit(alice), submit(bob)
        for key, job_id in ((alice, mine), (bob, theirs)):
            for _ in range(300):
                job: dict[str, Any] = http.get(f"/v1/jobs/{job_id}", headers=as_key(key)).json()
                if job["status"] in ("succeeded", "failed", "canceled"):
                    break
                time.sleep(0.05)
            assert job["status"] == "succeeded", job
            if key == alice:
                done = job

        # each key lists only its own job, and the other's reads as one that does not exist
        for key, own, other in ((alice, mine, theirs), (bob, theirs, mine)):
            listed = http.get("/v1/jobs", headers=as_key(key)).json()["jobs"]
            assert [j["id"] for j in listed] == [own]
            for method, path in [
                ("GET", f"/v1/jobs/{other}"),
                ("GET", f"/v1/jobs/{other}/outputs/default"),
                ("DELETE", f"/v1/jobs/{other}"),
            ]:
                refused = http.request(method, path, headers=as_key(key))
                assert _code(refused) == (404, "not_found"), (method, path)
        assert http.get(f"/v1/jobs/{theirs}", headers=as_key(bob)).status_code == 200  # kept

        # a revoked key
        assert http.get("/v1/jobs", headers=as_key(gone)).status_code == 200
        store.revoke("gone")
        assert _code(http.get("/v1/jobs", headers=as_key(gone))) == (401, "invalid_api_key")

        # the signed output link opens without a key; altered or expired, it does not
        parts = urlsplit(done["outputs"][0]["url"])
        signed = http.get(f"{parts.path}?{parts.query}")
        assert signed.status_code == 200 and signed.headers["content-type"] == "image/webp"
        query = parse_qs(parts.query)
        sig, expires = query["sig"][0], query["expires"][0]
        altered = "A" + sig[1:] if sig[0] != "A" else "B" + sig[1:]
        tampered = http.get(f"{parts.path}?expires={expires}&sig={altered}")
        assert _code(tampered) == (403, "invalid_signature")
        old = LinkSigner(store.link_secret(), 60).query(mine, "default", now=time.time() - 3600)
        assert _code(http.get(f"{parts.path}?{old}")) == (403, "link_expired")
        assert _code(http.get(parts.path)) == (401, "missing_api_key")
    finally:
        store.engine.dispose()


def _memory(pid: int) -> dict[str, int]:
    """The process's resident set now (VmRSS) and at its peak (VmHWM), in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def _big_body(total: int) -> Iterator[bytes]:
    """``total`` bytes of a JSON job request, never held whole."""
    chunk = b"A" * MiB
    yield b'{"source": {"base64": "'
    for _ in range(total // MiB):
        yield chunk


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_hostile_requests_cost_the_api_no_memory(serve_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "input"
    root.mkdir()
    server: DarkroomProcess = serve_factory(
        workers=0,  # the serve process is the API alone
        DARKROOM_INPUT_ROOT=str(root),
        DARKROOM_OUTBOUND_ALLOW="",  # refused at submission: nothing is connected to
        DARKROOM_MAX_JSON_BYTES=str(MiB),
    )
    assert server.process is not None
    pid, http = server.process.pid, server.client
    inline = {"base64": base64.b64encode(make_image(16, 16)).decode()}
    tiny_png = make_image(4, 4, "png")
    huge_avif = {
        "outputs": [
            {"op": "resize", "width": 8192, "height": 8192, "format": "avif", "enlarge": True}
        ]
    }

    def battery() -> None:
        for retention in (300_000_000_000, 10**30):
            answer = http.post("/v1/jobs", json={"source": inline, "retention_s": retention})
            assert _code(answer) == (422, "invalid_request"), retention
        for cursor in ("!!garbage~~", _cursor(b"[" + b"9" * 5000 + b', "x"]')):
            answer = http.get("/v1/jobs", params={"cursor": cursor})
            assert _code(answer) == (422, "invalid_cursor"), cursor[:20]
        labelled = http.post("/v1/jobs", json={"source": inline, "labels": {"a": "b\x00"}})
        assert _code(labelled) == (422, "invalid_request")
        assert _code(http.get("/v1/jobs", params={"label": "a:\x00"})) == (422, "invalid_label")
        for path in ("page\x00.jpg", "a" * 5000 + ".jpg"):
            answer = http.post("/v1/jobs", json={"source": {"path": path}})
            assert _code(answer) == (422, "invalid_path"), path[:20]
        for url in ("http://[64:ff9b::a9fe:a9fe]/x.jpg", "http://[2002:7f00:1::1]/x.jpg"):
            answer = http.post("/v1/jobs", json={"source": {"url": url}})
            assert _code(answer) == (403, "forbidden_destination"), url
        for declared in (True, False):  # 50 MB, with and without a Content-Length
            headers = {"content-type": "application/json"}
            if declared:
                headers["content-length"] = str(50 * MiB + 23)
            answer = http.post("/v1/jobs", content=_big_body(50 * MiB), headers=headers)
            assert _code(answer) == (413, "payload_too_large"), declared
        files = {"file": ("tiny.png", tiny_png, "application/octet-stream")}
        answer = http.post("/v1/jobs", files=files, data={"spec": json.dumps(huge_avif)})
        assert _code(answer) == (422, "output_too_large")

    battery()  # every path once, so what it loads is loaded before measuring
    before = _memory(pid)["VmRSS"]
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM from now on
    for _ in range(3):
        battery()
    after = _memory(pid)
    print(
        f"API VmRSS before {before / MiB:.1f} MiB, after {after['VmRSS'] / MiB:.1f} MiB, "
        f"peak {after['VmHWM'] / MiB:.1f} MiB"
    )
    assert after["VmRSS"] - before <= 40 * MiB, (before, after)
    assert after["VmHWM"] - before <= 40 * MiB, (before, after)
    # still healthy, and nothing was queued
    assert http.get("/readyz").status_code == 200
    assert sum(http.get("/v1/stats").json()["jobs"].values()) == 0
