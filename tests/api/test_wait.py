"""Waiting for a job's end in one request: POST /v1/jobs with `Prefer: wait=N` and
GET /v1/jobs/{id}?wait=N. The event streams' reader is made to tick only every 5 s
(DARKROOM_EVENTS_POLL_S), so a wait of 4 s that ends with the job did hear of its end."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from darkroom.api.job_watch import JobWatch
from darkroom.api.prefer import preferred_wait
from tests.helpers import make_image, on_sqlite, wait_until

SLOW_TICKS = {"DARKROOM_EVENTS_POLL_S": "5"}
SPEC = {"outputs": [{"name": "small", "op": "thumbnail", "width": 32, "format": "webp"}]}


def submit(api: Any, prefer: str | None, size: int = 64) -> httpx.Response:
    headers = {"Prefer": prefer} if prefer is not None else {}
    files = {"file": ("image.jpg", make_image(size, size), "image/jpeg")}
    response: httpx.Response = api.client.post(
        "/v1/jobs", files=files, data={"spec": json.dumps(SPEC)}, headers=headers
    )
    return response


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_prefer_wait_answers_200_with_the_finished_job(api_factory: Any) -> None:
    api = api_factory(workers=1, **SLOW_TICKS)
    assert submit(api, "wait=30").status_code == 200  # the worker is up and warm
    answer = submit(api, "respond-async, wait=4")  # shorter than a tick: woken by the end
    assert answer.status_code == 200, answer.text
    assert answer.headers["Preference-Applied"] == "wait=4"
    assert answer.headers["Location"].endswith(f"/v1/jobs/{answer.json()['id']}")
    job = answer.json()
    assert job["status"] == "succeeded"
    assert [(o["name"], o["format"], o["width"]) for o in job["outputs"]] == [("small", "webp", 32)]
    assert api.client.get(job["outputs"][0]["url"]).status_code == 200


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_prefer_wait_answers_200_with_a_failed_job(api_factory: Any, loopback: Any) -> None:
    api = api_factory(workers=1, **SLOW_TICKS)
    assert submit(api, "wait=30").status_code == 200  # the worker is up and warm
    junk = loopback.serve_bytes("/junk.jpg", b"not an image")
    answer = api.client.post(
        "/v1/jobs", json={"source": {"url": junk}, **SPEC}, headers={"Prefer": "wait=4"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "failed"


@on_sqlite
def test_prefer_wait_times_out_with_the_usual_202(api_factory: Any) -> None:
    api = api_factory(workers=0)  # nothing runs the job
    answer = submit(api, "wait=1")
    assert answer.status_code == 202
    assert answer.headers["Preference-Applied"] == "wait=1"
    assert answer.json()["status"] == "queued"
    assert answer.json()["queue_position"] == 1


@on_sqlite
def test_prefer_without_a_usable_wait_answers_at_once(api_factory: Any) -> None:
    api = api_factory(workers=0)
    for prefer in (None, "respond-async", "wait=0", "wait=soon"):
        answer = submit(api, prefer)
        assert answer.status_code == 202
        assert "Preference-Applied" not in answer.headers
        assert answer.json()["status"] == "queued"


@on_sqlite
def test_prefer_wait_above_60_counts_as_60(api_factory: Any) -> None:
    api = api_factory(workers=1)
    answer = submit(api, "wait=600")
    assert answer.status_code == 200
    assert answer.headers["Preference-Applied"] == "wait=60"
    assert answer.json()["status"] == "succeeded"


def test_prefer_header_parsing() -> None:
    assert preferred_wait(["wait=10"]) == 10
    assert preferred_wait(["respond-async, WAIT = 2.5"]) == 2.5
    assert preferred_wait(['return=minimal; x="a,b", wait="7"']) == 7
    assert preferred_wait(["respond-async", "wait=3"]) == 3  # several Prefer headers
    assert preferred_wait(["wait=3, wait=9"]) == 3  # the first one counts (RFC 7240)
    assert preferred_wait(["wait=61"]) == 60
    for ignored in ([], ["respond-async"], ["wait"], ["wait=0"], ["wait=-1"], ["wait=1e3"]):
        assert preferred_wait(ignored) is None, ignored


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_get_wait_answers_when_the_job_ends(api_factory: Any) -> None:
    api = api_factory(workers=1, **SLOW_TICKS)
    api.wait_job(submit(api, None).json()["id"])  # the worker is up and warm
    job_id = submit(api, None).json()["id"]
    answer = api.client.get(f"/v1/jobs/{job_id}", params={"wait": 4})
    assert answer.status_code == 200
    assert answer.json()["status"] == "succeeded"


@on_sqlite
def test_get_wait_answers_the_job_as_it_is_when_time_runs_out(api_factory: Any) -> None:
    api = api_factory(workers=0)
    job_id = submit(api, None).json()["id"]
    answer = api.client.get(f"/v1/jobs/{job_id}", params={"wait": 0.5})
    assert answer.status_code == 200
    assert answer.json()["status"] == "queued"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_get_wait_ends_with_a_cancellation(api_factory: Any) -> None:
    api = api_factory(workers=0, **SLOW_TICKS)
    job_id = submit(api, None).json()["id"]
    answers: list[httpx.Response] = []
    waiter = threading.Thread(
        target=lambda: answers.append(api.client.get(f"/v1/jobs/{job_id}?wait=4"))
    )
    waiter.start()
    watch: JobWatch = api.client.app.state.job_watch
    wait_until(lambda: watch.streams == 1, 30)  # the GET waits
    assert api.client.delete(f"/v1/jobs/{job_id}").status_code == 200
    waiter.join(30)
    assert [a.json()["status"] for a in answers] == ["canceled"]


@on_sqlite
def test_get_wait_bounds(api_factory: Any) -> None:
    api = api_factory(workers=0)
    job_id = submit(api, None).json()["id"]
    for wait in ("61", "-1", "soon"):
        answer = api.client.get(f"/v1/jobs/{job_id}", params={"wait": wait})
        assert answer.status_code == 422, (wait, answer.text)
    assert api.client.get("/v1/jobs/unknown", params={"wait": 5}).status_code == 404


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_prefer_wait_across_two_api_processes(serve_factory: Any) -> None:
    # A has no workers; B's worker runs the job. A hears of its end from the database.
    asker = serve_factory(workers=0, **SLOW_TICKS)
    runner = serve_factory(workers=1)
    runner.wait_job(submit(runner, None).json()["id"])  # B's worker is up and warm
    answer = submit(asker, "wait=4")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Preference-Applied"] == "wait=4"
    job = answer.json()
    assert job["status"] == "succeeded" and job["outputs"][0]["name"] == "small"
    assert asker.job(job["id"])["status"] == "succeeded"
