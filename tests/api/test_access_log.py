"""The access log of a started `darkroom serve`, its request ids, and no colour codes."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from darkroom.logs import JsonFormatter, PlainFormatter
from tests.helpers import DarkroomProcess, make_image, on_sqlite


def lines_with(log: str, *parts: str) -> list[str]:
    return [line for line in log.splitlines() if all(part in line for part in parts)]


@on_sqlite
def test_access_log_and_request_ids(serve_factory: Any) -> None:
    proc: DarkroomProcess = serve_factory(workers=1)
    spec = json.dumps({"outputs": [{"name": "a", "op": "thumbnail", "width": 32}]})
    resp = proc.client.post(
        "/v1/jobs",
        files={"file": ("a.jpg", make_image(96, 64), "image/jpeg")},
        data={"spec": spec},
        headers={"X-Request-ID": "req-42.a:b"},
    )
    assert resp.status_code == 202, resp.text
    assert resp.headers["x-request-id"] == "req-42.a:b"
    job_id = resp.json()["id"]
    assert proc.wait_job(job_id)["status"] == "succeeded"
    # too long, or with characters a log line should not carry: one is made up instead
    for offered in ("x" * 200, "a b"):
        given = proc.client.get("/healthz", headers={"X-Request-ID": offered})
        assert re.fullmatch(r"[0-9a-f]{32}", given.headers["x-request-id"])
    made_up = proc.client.get("/healthz").headers["x-request-id"]
    proc.stop()  # uvicorn's last lines, once carrying colour codes
    log = proc.log()

    [access] = lines_with(log, "POST /v1/jobs 202", "request_id=req-42.a:b")
    assert "method=POST route=/v1/jobs" in access and "status=202" in access
    assert re.search(r"duration_ms=\d+(\.\d+)?", access)
    assert lines_with(log, "GET /v1/jobs/{job_id} 200", f"path=/v1/jobs/{job_id}")
    assert lines_with(log, "GET /healthz 200", f"request_id={made_up}")
    # the job's lines, in the API process and in the worker process
    for message in ("job queued", "job started", "job succeeded"):
        assert lines_with(log, message, job_id, "request_id=req-42.a:b"), message
    assert "Finished server process" in log
    assert "\x1b[" not in log


def test_formatters_drop_colour_copies() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, "Started %d", (7,), None)
    record.color_message = "Started \x1b[36m%d\x1b[0m"
    for formatter in (PlainFormatter(), JsonFormatter()):
        line = formatter.format(record)
        assert "Started 7" in line and "\x1b[" not in line and "color_message" not in line
