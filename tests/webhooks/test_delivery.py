"""Webhook deliveries to a real receiver on loopback (allow-listed by the test config)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from darkroom.webhooks.signing import new_secret, verify
from tests.helpers import LoopbackServer, answer, free_port, make_image, wait_until

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

QUICK = {
    "DARKROOM_WEBHOOK_BACKOFF_S": "0.3",
    "DARKROOM_WEBHOOK_TIMEOUT_S": "3",
    "DARKROOM_MAX_ATTEMPTS": "1",
}


def delivered(api: Any, job_id: str, state: str = "delivered") -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        hook: dict[str, Any] = api.job(job_id)["webhook"]
        return hook if hook["state"] == state else None

    result: dict[str, Any] = wait_until(check, 30, 0.1)
    return result


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_signed_deliveries_for_success_and_failure(
    api_factory: Any, loopback: LoopbackServer
) -> None:
    secret = new_secret()
    api = api_factory(workers=1, DARKROOM_WEBHOOK_SECRET=secret, **QUICK)
    hook = loopback.url("/hook")
    ok = api.submit({"source": {"base64": _b64(make_image(64, 48))}, "webhook_url": hook})
    bad = api.submit({"source": {"url": loopback.url("/missing.jpg")}, "webhook_url": hook})
    for job in (ok, bad):
        assert job["webhook"] == {**job["webhook"], "enabled": True, "state": "waiting"}
    states = {delivered(api, j["id"])["attempts"] for j in (ok, bad)}
    assert states == {1}
    assert len(loopback.received) == 2
    bodies = {}
    for request in loopback.received:
        assert request.path == "/hook"
        assert request.headers["content-type"] == "application/json"
        verify(secret, request.headers, request.body)
        body = json.loads(request.body)
        bodies[body["data"]["id"]] = (request.headers, body)
    headers, body = bodies[ok["id"]]
    assert body["type"] == "job.succeeded"
    assert body["data"]["status"] == "succeeded"
    assert body["data"]["outputs"][0]["url"].endswith(f"/v1/jobs/{ok['id']}/outputs/default")
    assert body["data"]["finished_at"] and body["timestamp"]
    _headers, failed = bodies[bad["id"]]
    assert failed["type"] == "job.failed"
    assert failed["data"]["error"]["code"] == "download_rejected"
    shown = api.job(ok["id"])["webhook"]
    assert shown["delivered"] is True
    assert shown["last_status_code"] == 204
    assert shown["last_error"] is None
    assert shown["message_id"] == headers["webhook-id"]
    assert shown["delivered_at"] and shown["last_attempt_at"]


@SQLITE
def test_receiver_down_then_up_gets_the_delivery(api_factory: Any) -> None:
    port = free_port()  # nothing listens here yet
    api = api_factory(workers=1, DARKROOM_WEBHOOK_ATTEMPTS="10", **QUICK)
    job = api.submit(
        {
            "source": {"base64": _b64(make_image(32, 32))},
            "webhook_url": f"http://127.0.0.1:{port}/h",
        }
    )
    first = wait_until(lambda: (h := api.job(job["id"])["webhook"])["attempts"] >= 1 and h, 30)
    assert first["state"] == "pending"
    assert "connection failed" in first["last_error"]
    receiver = LoopbackServer(port=port)
    try:
        hook = delivered(api, job["id"])
        assert hook["attempts"] >= 2
        assert len(receiver.received) == 1
        assert json.loads(receiver.received[0].body)["data"]["id"] == job["id"]
    finally:
        receiver.close()


@SQLITE
def test_receiver_failing_every_attempt_records_the_failure(
    api_factory: Any, loopback: LoopbackServer
) -> None:
    loopback.routes["/hook"] = answer(500)
    api = api_factory(workers=1, DARKROOM_WEBHOOK_ATTEMPTS="3", **QUICK)
    job = api.submit(
        {"source": {"base64": _b64(make_image(32, 32))}, "webhook_url": loopback.url("/hook")}
    )
    hook = delivered(api, job["id"], state="failed")
    assert hook["attempts"] == 3
    assert hook["delivered"] is False
    assert hook["last_status_code"] == 500
    assert hook["last_error"] == "receiver answered 500"
    assert len(loopback.received) == 3
    assert len({r.headers["webhook-id"] for r in loopback.received}) == 1
    assert api.job(job["id"])["status"] == "succeeded"  # the job's own outcome is untouched

    loopback.routes.pop("/hook")
    again = api.client.post(f"/v1/jobs/{job['id']}/webhook/redeliver")
    assert again.status_code == 202
    hook = delivered(api, job["id"])
    assert hook["attempts"] == 1
    assert loopback.received[-1].headers["webhook-id"] == hook["message_id"]


@SQLITE
def test_redeliver_refusals(api_factory: Any) -> None:
    api = api_factory(workers=1, **QUICK)
    job = api.wait_job(api.submit({"source": {"base64": _b64(make_image(16, 16))}})["id"])
    assert job["webhook"] == {**job["webhook"], "enabled": False, "state": None}
    refused = api.client.post(f"/v1/jobs/{job['id']}/webhook/redeliver")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "no_webhook")
    missing = api.client.post("/v1/jobs/nope/webhook/redeliver")
    assert missing.status_code == 404


@SQLITE
def test_a_delivery_pending_at_shutdown_is_sent_after_restart(
    serve_factory: Any, tmp_path: Path
) -> None:
    port = free_port()
    env = {**QUICK, "DARKROOM_WEBHOOK_ATTEMPTS": "20", "DARKROOM_WEBHOOK_BACKOFF_S": "1"}
    data = tmp_path / "kept"
    api = serve_factory(workers=1, data_dir=data, **env)
    job = api.submit(
        {
            "source": {"base64": _b64(make_image(32, 32))},
            "webhook_url": f"http://127.0.0.1:{port}/h",
        }
    )
    wait_until(lambda: api.job(job["id"])["webhook"]["attempts"] >= 1, 30)
    api.stop()
    receiver = LoopbackServer(port=port)
    try:
        again = serve_factory(workers=0, data_dir=data, **env)  # an API process alone sends it
        hook = delivered(again, job["id"])
        assert hook["attempts"] >= 2
        assert [json.loads(r.body)["data"]["id"] for r in receiver.received] == [job["id"]]
    finally:
        receiver.close()


def _b64(data: bytes) -> str:

    return base64.b64encode(data).decode()


@SQLITE
def test_the_example_receiver_verifies_real_deliveries(api_factory: Any, tmp_path: Path) -> None:
    """examples/webhook_receiver.py, as documented, against a real darkroom."""
    secret = new_secret()
    port = free_port()
    log = (tmp_path / "receiver.log").open("w+")
    receiver = subprocess.Popen(
        [sys.executable, "examples/webhook_receiver.py", "--port", str(port)],
        env={**os.environ, "DARKROOM_WEBHOOK_SECRET": secret},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        wait_until(lambda: "listening" in (tmp_path / "receiver.log").read_text(), 30)
        api = api_factory(workers=1, DARKROOM_WEBHOOK_SECRET=secret, **QUICK)
        hook = f"http://127.0.0.1:{port}/darkroom"
        job = api.submit({"source": {"base64": _b64(make_image(32, 32))}, "webhook_url": hook})
        assert delivered(api, job["id"])["last_status_code"] == 204
        lines = (tmp_path / "receiver.log").read_text().splitlines()
        event = json.loads(lines[-1])
        assert (event["type"], event["job"]) == ("job.succeeded", job["id"])
        assert event["outputs"][0].endswith(f"/v1/jobs/{job['id']}/outputs/default")
        # a forged delivery is refused
        forged = httpx.post(
            hook,
            content=b"{}",
            headers={"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"},
        )
        assert forged.status_code == 400
    finally:
        receiver.terminate()
        receiver.wait(10)


@SQLITE
def test_a_stalled_receiver_holds_up_no_job(api_factory: Any, loopback: LoopbackServer) -> None:
    """Every delivery hangs until the test lets the receiver answer; meanwhile every job
    still runs to the end."""
    release = threading.Event()

    def stalled(handler: Any) -> None:
        release.wait(60)
        answer(204)(handler)

    loopback.routes["/slow"] = stalled
    api = api_factory(workers=1, DARKROOM_WEBHOOK_TIMEOUT_S="60", DARKROOM_WEBHOOK_CONCURRENCY="1")
    hook = loopback.url("/slow")
    ids = [
        api.submit({"source": {"base64": _b64(make_image(32, 32))}, "webhook_url": hook})["id"]
        for _ in range(4)
    ]
    try:
        assert all(api.wait_job(job_id)["status"] == "succeeded" for job_id in ids)
        wait_until(lambda: len(loopback.received) >= 1, 30)
        assert not release.is_set() and len(loopback.received) == 1  # one stuck in flight
    finally:
        release.set()
    for job_id in ids:
        assert delivered(api, job_id)["attempts"] == 1


@SQLITE
def test_default_webhook_and_a_timed_out_attempt(
    api_factory: Any, loopback: LoopbackServer
) -> None:
    """DARKROOM_WEBHOOK_URL serves jobs that name none; an attempt the receiver does not
    answer in time is retried."""
    release = threading.Event()

    def slow_first(handler: Any) -> None:
        release.wait(30)  # until released, longer than the timeout: darkroom gives up
        answer(204)(handler)

    loopback.routes["/default"] = slow_first
    api = api_factory(
        workers=1,
        DARKROOM_WEBHOOK_URL=loopback.url("/default"),
        **{**QUICK, "DARKROOM_WEBHOOK_TIMEOUT_S": "1", "DARKROOM_WEBHOOK_BACKOFF_S": "1"},
    )
    job = api.submit({"source": {"base64": _b64(make_image(32, 32))}})
    assert job["webhook_url"] == loopback.url("/default")
    try:
        first = wait_until(lambda: (h := api.job(job["id"])["webhook"])["attempts"] >= 1 and h, 30)
        assert first["last_error"] == "timed out after 1 s"
        assert first["last_status_code"] is None
    finally:
        release.set()
    hook = delivered(api, job["id"])
    assert hook["attempts"] >= 2
