"""The Server-Sent Events stream of a job, over real HTTP."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import httpx
import pytest

from tests.helpers import make_image

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def read_events(url: str, timeout_s: float = 120) -> list[tuple[str, dict[str, Any]]]:
    """Every event of the stream until the server ends it."""
    events: list[tuple[str, dict[str, Any]]] = []
    name = "message"
    with httpx.stream("GET", url, timeout=timeout_s) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
                name = "message"
    return events


def test_events_follow_a_job_from_queued_to_succeeded(serve_factory: Any) -> None:
    # Two API processes share the database; the stream is read from the one that has no
    # workers, so it cannot rely on anything but the stored job.
    worker_api = serve_factory(workers=0, DARKROOM_EVENTS_POLL_S="0.05")
    reader_api = serve_factory(workers=0, DARKROOM_EVENTS_POLL_S="0.05")
    # lossless AVIF outputs: a few s of work, so that progress is written more than once
    images = [make_image(1200 + i, 900) for i in range(12)]
    job = worker_api.submit(
        {
            "sources": [{"base64": base64.b64encode(image).decode()} for image in images],
            "outputs": [
                {
                    "name": "a",
                    "op": "thumbnail",
                    "width": 1200,
                    "format": "avif",
                    "lossless": True,
                },
                {"name": "b", "op": "thumbnail", "width": 120, "format": "png"},
            ],
        }
    )
    events: list[tuple[str, dict[str, Any]]] = []
    reader = threading.Thread(
        target=lambda: events.extend(read_events(f"{reader_api.url}/v1/jobs/{job['id']}/events"))
    )
    reader.start()
    worker = serve_factory(workers=1, DARKROOM_EVENTS_POLL_S="0.05")  # starts the work now
    reader.join(120)
    assert not reader.is_alive()
    statuses = [data["status"] for name, data in events if name == "status"]
    assert statuses == ["queued", "processing", "succeeded"]
    progress = [data["progress"] for _name, data in events]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert len({p for p in progress if 0 < p < 100}) >= 2, progress  # it rose in steps
    final = events[-1][1]
    assert final["id"] == job["id"]
    assert len(final["outputs"]) == 2 * len(images)
    assert worker.job(job["id"])["status"] == "succeeded"


def test_events_of_unknown_and_finished_jobs(serve_factory: Any) -> None:
    api = serve_factory(workers=1)
    missing = api.client.get("/v1/jobs/nope/events")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    done = api.wait_job(api.upload(make_image(32, 32)).json()["id"])
    events = read_events(f"{api.url}/v1/jobs/{done['id']}/events")
    assert [(name, data["status"]) for name, data in events] == [("status", "succeeded")]
