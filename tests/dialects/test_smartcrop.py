"""Seed 000's API (the smart-crop service), through its routes in this process:
submission, status, the image and its conversions (enlarging included), health, the
webhook body, capacity, expiry, the fields the service ignored, skipped server paths, and
every error case in its form."""

from __future__ import annotations

import base64
import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import orjson
import pytest
import pyvips
from pydantic import ValidationError

from darkroom.dialects.registry import enabled
from darkroom.jobs.bounds import MAX_RETENTION_S
from eval.pages import chapter
from tests.helpers import LoopbackServer, answer, make_image, wait_until
from tests.inprocess import InProcessDarkroom

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ENQUEUE_FIELDS = [
    "job_id", "status", "queue_position", "pending_jobs", "job_url", "image_url",
    "created_at", "expires_in_seconds", "webhook_enabled",
]  # fmt: skip


def _start(api_factory: Any, workers: int = 1, **env: str) -> InProcessDarkroom:
    api: InProcessDarkroom = api_factory(workers=workers, DARKROOM_DIALECTS="smartcrop", **env)
    return api


def _settled(api: InProcessDarkroom, job_url: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = api.client.get(job_url).json()
        return job if job["status"] in ("done", "failed") else None

    found: dict[str, Any] = wait_until(done, 90)
    return found


def _pages(count: int) -> tuple[list[dict[str, str]], list[str]]:
    pages = chapter(np.random.default_rng(11), count)
    files = []
    for n, page in enumerate(pages):
        jpeg = pyvips.Image.new_from_array(page.pixels, interpretation="srgb").jpegsave_buffer()
        text = base64.b64encode(jpeg).decode()
        if n % 3 == 1:  # the spellings the service took: a data: URI, URL-safe base64
            text = "data:image/jpeg;base64," + text
        elif n % 3 == 2:
            text = base64.urlsafe_b64encode(jpeg).decode().rstrip("=")
        files.append({"filename": f"{n:02d}.jpg", "content_base64": text})
    return files, [p.kind for p in pages]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_chapter_becomes_a_pair_cover(api_factory: Any) -> None:
    api = _start(api_factory)
    files, kinds = _pages(8)
    submitted = api.client.post(
        "/thumbnail", json={"image_files": files, "return_candidates": True}
    )
    assert submitted.status_code == 202, submitted.text
    enqueued = submitted.json()
    assert list(enqueued) == ENQUEUE_FIELDS
    assert enqueued["status"] == "queued" and enqueued["queue_position"] >= 1
    assert enqueued["job_url"] == f"{api.url}/job/{enqueued['job_id']}"  # absolute
    assert enqueued["image_url"] == enqueued["job_url"] + "/image"
    assert SECONDS.match(enqueued["created_at"])
    assert (enqueued["expires_in_seconds"], enqueued["webhook_enabled"]) == (7200, False)

    job = _settled(api, enqueued["job_url"])
    assert job["status"] == "done", job
    assert "queue_position" not in job and "error" not in job
    for stamp in ("created_at", "started_at", "finished_at", "expires_at"):
        assert SECONDS.match(job[stamp]), stamp
    assert job["webhook"] == {"enabled": False, "attempts": 0, "delivered": False}
    result = job["result"]
    assert (
        result["composition_mode"] == "pair-smart-thumb" and result["method"] == "pair-smart-thumb"
    )
    assert (result["crop_width"], result["crop_height"], result["applied"]) == (1200, 675, True)
    assert result["output_path"] == enqueued["image_url"]
    picked = [p["index"] for p in result["picked"]]
    assert all(kinds[i] == "art" for i in picked)
    assert result["composed_from"] == [f"{i:02d}.jpg" for i in picked]
    assert result["selected_page_index"] == picked[0]
    assert result["selected_image_path"] == f"{picked[0]:02d}.jpg"
    assert [c["page_index"] for c in result["candidates"]] == list(range(8))
    assert all(
        c["method"] == "smart-thumb" and 0 <= c["confidence"] <= 1 for c in result["candidates"]
    )
    assert "fallback_used" not in result and "worker_warning" not in result

    stored = api.client.get(enqueued["image_url"])
    assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
    assert stored.headers["cache-control"] == "no-store"
    assert stored.headers["x-content-type-options"] == "nosniff"
    image = pyvips.Image.new_from_buffer(stored.content, "")
    assert (image.width, image.height) == (1200, 675)
    small = api.client.get(
        enqueued["image_url"], params={"format": "avif", "width": "600", "quality": "40"}
    )
    assert small.headers["content-type"] == "image/avif"
    assert small.headers["x-content-type-options"] == "nosniff"
    image = pyvips.Image.new_from_buffer(small.content, "")
    assert (image.width, image.height) == (600, 338)
    assert api.client.get(enqueued["image_url"], params={"quality": "0"}).status_code == 200

    # Wider than the cover: enlarged, as the service's converter did, its height rounded
    # as Python rounds (328.5 -> 328); narrower ones are rounded the same way.
    for params, size, media in [
        ({"width": "1600"}, (1600, 900), "image/jpeg"),
        ({"width": "2000", "format": "avif", "quality": "50"}, (2000, 1125), "image/avif"),
        ({"width": "584"}, (584, 328), "image/jpeg"),
        ({"width": "1200", "quality": "80"}, (1200, 675), "image/jpeg"),
    ]:
        resized = api.client.get(enqueued["image_url"], params=params)
        assert resized.headers["content-type"] == media, params
        image = pyvips.Image.new_from_buffer(resized.content, "")
        assert (image.width, image.height) == size, params
    too_wide = api.client.get(enqueued["image_url"], params={"width": "8193"})
    assert (too_wide.status_code, too_wide.json()) == (400, {"error": "width must be at most 8192"})


def test_one_image_is_a_smart_crop_from_the_input_folder(api_factory: Any, tmp_path: Path) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(make_image(900, 600))
    api = _start(api_factory, DARKROOM_INPUT_ROOT=str(folder))
    body = {"image_path": "photo.jpg", "preferred_ratio": "1:1", "quality": 70}
    job = _settled(api, api.client.post("/thumbnail", json=body).json()["job_url"])
    result = job["result"]
    assert (result["composition_mode"], result["applied"]) == ("single", True)
    assert result["crop_width"] == result["crop_height"] == 600  # 1:1 of 900 x 600
    assert result["method"] in ("attention", "faces", "objects")
    assert result["composed_from"] == ["photo.jpg"]
    image = pyvips.Image.new_from_buffer(api.client.get(job["image_url"]).content, "")
    assert image.width == image.height

    outside = api.client.post("/thumbnail", json={"image_paths": ["../elsewhere.jpg"]})
    assert outside.status_code == 403 and "outside" in outside.json()["error"]
    # No file named: nothing is left to make a cover of, as the service answered then.
    missing = api.client.post("/thumbnail", json={"image_paths": ["nope.jpg"]})
    assert (missing.status_code, missing.json()) == (
        400, {"error": "image_paths, image_path, or image_files is required"}
    )  # fmt: skip


def test_server_paths_that_name_no_file_are_skipped_and_listed(
    api_factory: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "input"
    (folder / "pages").mkdir(parents=True)
    for name in ("01.jpg", "02.jpg"):
        (folder / "pages" / name).write_bytes(make_image(300, 420))
    api = _start(api_factory, DARKROOM_INPUT_ROOT=str(folder))
    body = {
        "image_paths": ["pages/01.jpg", "pages/gone.jpg", " ", "pages/02.jpg"],
        "image_path": "pages/also-gone.jpg",
    }
    submitted = api.client.post("/thumbnail", json=body)
    assert submitted.status_code == 202, submitted.text
    enqueued = submitted.json()
    assert enqueued["skipped_paths"] == ["pages/gone.jpg", "pages/also-gone.jpg"]
    assert enqueued["skipped_count"] == 2
    job = _settled(api, enqueued["job_url"])
    assert job["status"] == "done", job
    result = job["result"]
    assert result["composition_mode"] == "pair-smart-thumb"  # the two pages that are there
    assert sorted(result["composed_from"]) == ["pages/01.jpg", "pages/02.jpg"]
    assert result["skipped_paths"] == ["pages/gone.jpg", "pages/also-gone.jpg"]
    assert result["skipped_count"] == 2

    # Only missing paths, but an inline file: the job is made of the file. At most 20
    # paths are listed (each cut to 256 characters); the count says how many there were.
    page = {"filename": "p.jpg", "content_base64": _b64(make_image(300, 420))}
    gone = [f"pages/gone-{n:02d}.jpg" for n in range(24)] + ["pages/" + "x" * 300]
    enqueued = api.client.post("/thumbnail", json={"image_paths": gone, "image_files": [page]})
    assert enqueued.status_code == 202, enqueued.text
    assert enqueued.json()["skipped_paths"] == gone[:20]
    job = _settled(api, enqueued.json()["job_url"])
    assert (job["status"], job["result"]["composed_from"]) == ("done", ["p.jpg"])
    assert job["result"]["skipped_paths"] == gone[:20] and job["result"]["skipped_count"] == 25
    long_one = api.client.post(
        "/thumbnail", json={"image_path": gone[-1], "image_files": [page]}
    ).json()["skipped_paths"]
    assert long_one == [gone[-1][:255] + "…"]

    # Nothing skipped: the service's answer, field for field.
    plain = api.client.post("/thumbnail", json={"image_path": "pages/01.jpg"}).json()
    assert list(plain) == ENQUEUE_FIELDS
    assert "skipped_paths" not in _settled(api, plain["job_url"])["result"]


def _stored_spec(tmp_path: Path, job_id: str) -> dict[str, Any]:
    with sqlite3.connect(tmp_path / "data" / "darkroom.db") as db:
        (spec,) = db.execute("SELECT spec FROM jobs WHERE id = ?", (job_id,)).fetchone()
    output: dict[str, Any] = orjson.loads(spec)["outputs"][0]
    return output


def test_fields_the_service_ignored_are_never_refused(api_factory: Any, tmp_path: Path) -> None:
    api = _start(api_factory)
    page = {"content_base64": _b64(make_image(400, 300))}
    # What each body gives: the op, the cover's height (1200 wide), the JPEG quality and
    # the analysis size darkroom stores.
    cases: list[tuple[dict[str, Any], tuple[str, int, int, int | None]]] = [
        ({"compose_mode": 5, "preferred_ratio": [16, 9], "apply_crop": "yes"},
         ("cover", 675, 95, None)),
        ({"compose_mode": "triple", "preferred_ratio": "wide", "quality": -7},
         ("cover", 675, 95, None)),
        ({"preferred_ratio": "0:9", "max_analysis_size": "big", "quality": 0},
         ("cover", 675, 95, None)),
        ({"preferred_ratio": True, "max_analysis_size": -5, "output_path": 42},
         ("cover", 675, 95, None)),
        ({"preferred_ratio": 100, "max_analysis_size": 100000, "quality": 1000},
         ("cover", 60, 100, 4096)),
        ({"preferred_ratio": "4:3", "max_analysis_size": 10.7, "quality": 55},
         ("cover", 900, 55, 32)),
        ({"compose_mode": "single", "preferred_ratio": -1, "apply_crop": None},
         ("cover", 675, 95, None)),
    ]  # fmt: skip
    for extra, (op, height, quality, analysis) in cases:
        submitted = api.client.post("/thumbnail", json={"image_files": [page], **extra})
        assert submitted.status_code == 202, (extra, submitted.text)
        enqueued = submitted.json()
        stored = _stored_spec(tmp_path, enqueued["job_id"])
        assert (stored["op"], stored["height"], stored["quality"]) == (op, height, quality), extra
        assert stored["max_analysis_size"] == analysis, extra
    # The last one, made: a 16:9 crop of the one image.
    job = _settled(api, enqueued["job_url"])
    assert job["status"] == "done", job
    image = pyvips.Image.new_from_buffer(api.client.get(job["image_url"]).content, "")
    assert (image.width, image.height) == (1200, 675)
    # Two images and an unknown compose_mode: the pair cover, as the service made.
    pair = {"image_files": [page, page], "compose_mode": {"x": 1}, "quality": 101}
    enqueued = api.client.post("/thumbnail", json=pair).json()
    stored = _stored_spec(tmp_path, enqueued["job_id"])
    assert (stored["op"], stored["quality"]) == ("pair", 100)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{not json", 400, "invalid JSON body"),
        (b'{"quality": "85", "image_path": "a.jpg"}', 400, "invalid JSON body"),
        (b'{"return_candidates": "true"}', 400, "invalid JSON body"),
        (b'{"quality": 85.5, "image_path": "a.jpg"}', 400, "invalid JSON body"),
        (b"[1, 2]", 400, "invalid JSON body"),
        (b"{}", 400, "image_paths, image_path, or image_files is required"),
        (
            b'{"image_files": [{"filename": "a.jpg", "content_base64": " "}]}',
            400,
            "image_files[0].content_base64 is required",
        ),
        (
            b'{"image_files": [{"content_base64": "%%%%"}]}',
            400,
            "image_files[0] decode failed",
        ),
        (b'{"image_files": [{"content_base64": "QQ=="}], "webhook_url": "ftp://x/y"}', 400,
         "webhook_url must use http or https"),
        (b'{"image_files": [{"content_base64": "QQ=="}], "webhook_url": "http://"}', 400,
         "webhook_url host is required"),
        (b'{"image_paths": ["a.jpg"], "compose_mode": 1, "preferred_ratio": {}}', 403,
         "DARKROOM_INPUT_ROOT"),
    ],
)  # fmt: skip
def test_bad_requests_get_the_services_errors(
    api_factory: Any, body: bytes, status: int, error: str
) -> None:
    api = _start(api_factory, workers=0)
    answered = api.client.post("/thumbnail", content=body)
    assert answered.status_code == status
    assert set(answered.json()) == {"error"} and error in answered.json()["error"]


def test_limits_capacity_and_the_image_before_it_is_done(api_factory: Any) -> None:
    api = _start(
        api_factory,
        workers=0,
        JOB_QUEUE_CAPACITY="2",
        INLINE_IMAGE_MAX_COUNT="2",
        INLINE_IMAGE_MAX_BYTES="65536",
    )
    small = {"content_base64": _b64(make_image(40, 40))}
    too_many = api.client.post("/thumbnail", json={"image_files": [small] * 3})
    assert (too_many.status_code, too_many.json()) == (
        400, {"error": "image_files exceeds max count (2)"}
    )  # fmt: skip
    big = {"content_base64": _b64(make_image(600, 600, Q=100))}
    too_big = api.client.post("/thumbnail", json={"image_files": [big]})
    assert too_big.status_code == 413 and "65536" in too_big.json()["error"]

    first = api.client.post("/thumbnail", json={"image_files": [small]}).json()
    second = api.client.post("/thumbnail", json={"image_files": [small, small]}).json()
    assert (first["queue_position"], second["queue_position"], second["pending_jobs"]) == (1, 2, 2)
    full = api.client.post("/thumbnail", json={"image_files": [small]})
    assert (full.status_code, full.json()) == (429, {"error": "queue is full, please retry later"})
    waiting = api.client.get(second["job_url"]).json()
    assert (waiting["status"], waiting["queue_position"], waiting["pending_jobs"]) == (
        "queued", 2, 2
    )  # fmt: skip
    early = api.client.get(first["image_url"])
    assert (early.status_code, early.json()) == (409, {"error": "job is not completed yet"})
    unknown = api.client.get("/job/0123456789abcdef01234567")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "job not found or expired"})
    assert api.client.get("/job/0123456789abcdef01234567/image").status_code == 404

    health = api.client.get("/health").json()
    assert health == api.client.get("/healthz").json() | {
        "time": health["time"], "uptime_seconds": health["uptime_seconds"]
    }  # fmt: skip
    assert (health["status"], health["queued_jobs"], health["has_processing_job"]) == (
        "ok", 2, False
    )  # fmt: skip
    assert (health["tracked_jobs"], health["queue_capacity"], health["job_ttl_seconds"]) == (
        2, 2, 7200
    )  # fmt: skip
    assert health["job_timeout_seconds"] == 1800  # JOB_PROCESS_TIMEOUT_SECONDS' default


@pytest.mark.parametrize(
    ("env", "timeout"),
    [
        ({"JOB_PROCESS_TIMEOUT_SECONDS": "10"}, 1800),  # under 30 s: the default, as there
        ({"JOB_PROCESS_TIMEOUT_SECONDS": "90", "DARKROOM_JOB_TIMEOUT_S": "120"}, 120),
    ],
)
def test_the_job_timeout(api_factory: Any, env: dict[str, str], timeout: int) -> None:
    api = _start(api_factory, workers=0, **env)
    assert api.client.get("/healthz").json()["job_timeout_seconds"] == timeout


def test_errors_answer_in_the_services_form(api_factory: Any, tmp_path: Path) -> None:
    api = _start(api_factory)
    page = {"content_base64": _b64(make_image(400, 300))}
    enqueued = api.client.post("/thumbnail", json={"image_files": [page]}).json()
    job_url = enqueued["job_url"]
    assert _settled(api, job_url)["status"] == "done"

    def error(method: str, path: str) -> tuple[int, Any, str]:
        answered = api.client.request(method, path)
        return answered.status_code, answered.json(), answered.headers["content-type"]

    # A method the service's handler did not take, on each of its routes.
    not_allowed = (405, {"error": "method not allowed"}, "application/json")
    for method, path in [
        ("GET", "/thumbnail"),
        ("PUT", "/thumbnail"),
        ("POST", job_url),
        ("DELETE", job_url),
        ("PATCH", job_url + "/image"),
        ("POST", "/health"),
        ("DELETE", "/healthz"),
        ("POST", "/job/nope/other"),
    ]:
        assert error(method, path) == not_allowed, (method, path)
    # The rest of what its /job/ handler answered.
    assert error("GET", "/job/")[:2] == (404, {"error": "job id is required"})
    assert error("GET", "/job")[:2] == (404, {"error": "job id is required"})
    assert error("GET", job_url + "/thumbnail")[:2] == (404, {"error": "not found"})
    assert error("GET", job_url + "/image/x")[:2] == (404, {"error": "not found"})
    assert api.client.get(job_url + "/").json() == api.client.get(job_url).json()
    with_slash = api.client.get(job_url + "/image/", params={"width": "300"})
    assert pyvips.Image.new_from_buffer(with_slash.content, "").width == 300
    assert error("GET", "/job/nope/")[:2] == (404, {"error": "job not found or expired"})

    # A conversion that fails (the stored cover is damaged) answers 500, as there.
    stored = next((tmp_path / "data" / "blobs").rglob("outputs/thumbnail.jpg"))
    stored.write_bytes(b"\xff\xd8 not a picture any more")
    for params in ({"width": "310"}, {"format": "avif"}):  # neither converted before
        status, body, _ = error("GET", enqueued["image_url"] + "?" + urlencode(params))
        assert status == 500 and body["error"].startswith("image convert failed: "), params


def test_the_webhook_body_and_its_delivery_state(
    api_factory: Any, loopback: LoopbackServer
) -> None:
    api = _start(
        api_factory,
        WEBHOOK_RETRIES="2",
        WEBHOOK_BACKOFF_MS="200",
        WEBHOOK_TIMEOUT_SECONDS="5",
        JOB_TTL_HOURS="3",
        JOB_PROCESS_TIMEOUT_SECONDS="90",
    )
    page = {"filename": "p.jpg", "content_base64": _b64(make_image(300, 400))}
    body = {"image_files": [page, page], "webhook_url": loopback.url("/hook")}
    enqueued = api.client.post("/thumbnail", json=body).json()
    assert enqueued["webhook_enabled"] is True and enqueued["expires_in_seconds"] == 3 * 3600
    wait_until(lambda: loopback.received, 60)
    hook = loopback.received[0]
    assert hook.headers["content-type"] == "application/json"
    sent = orjson.loads(hook.body)
    assert list(sent) == sorted(sent)  # the service's keys came out in order
    assert sent["event"] == "thumbnail.job.completed" and sent["status"] == "done"
    assert sent["job_id"] == enqueued["job_id"] and sent["job_url"] == enqueued["job_url"]
    assert sent["result"]["output_path"] == enqueued["image_url"]
    assert {"created_at", "started_at", "finished_at", "expires_at"} <= set(sent)
    assert "error" not in sent
    job = wait_until(
        lambda: (j := api.client.get(enqueued["job_url"]).json())["webhook"]["delivered"] and j, 30
    )
    webhook = job["webhook"]
    assert (webhook["enabled"], webhook["attempts"], webhook["last_status_code"]) == (
        True, 1, 204
    )  # fmt: skip
    assert webhook["url"] == loopback.url("/hook") and SECONDS.match(webhook["delivered_at"])
    assert api.client.get("/healthz").json()["job_timeout_seconds"] == 90

    # A job that fails, and a receiver that keeps answering 500: WEBHOOK_RETRIES attempts.
    loopback.routes["/broken"] = answer(500)
    truncated = make_image(400, 300)[:2000]
    failing = {
        "image_files": [{"content_base64": _b64(truncated)}],
        "webhook_url": loopback.url("/broken"),
    }
    enqueued = api.client.post("/thumbnail", json=failing).json()
    job = wait_until(
        lambda: (j := api.client.get(enqueued["job_url"]).json())["webhook"]["attempts"] == 2 and j,
        60,
    )
    assert job["status"] == "failed" and "corrupt_image" in job["error"]
    assert job["result"]["applied"] is False and job["result"]["crop_error"] == job["error"]
    assert job["webhook"]["last_status_code"] == 500 and job["webhook"]["delivered"] is False
    failed_hook = orjson.loads(next(r.body for r in loopback.received if r.path == "/broken"))
    assert failed_hook["status"] == "failed" and failed_hook["error"] == job["error"]
    image = api.client.get(enqueued["image_url"])
    assert (image.status_code, image.json()) == (
        422,
        {"error": "job failed, image is not available"},
    )


def test_finished_jobs_expire(api_factory: Any, tmp_path: Path) -> None:
    api = _start(api_factory, DARKROOM_SWEEP_INTERVAL_S="0.2")
    page = {"content_base64": _b64(make_image(200, 200))}
    enqueued = api.client.post("/thumbnail", json={"image_files": [page]}).json()
    assert _settled(api, enqueued["job_url"])["status"] == "done"
    # Two hours pass: the job's expiry is moved to the past in its database.
    with sqlite3.connect(tmp_path / "data" / "darkroom.db") as db:
        db.execute(
            "UPDATE jobs SET expires_at = ? WHERE id = ?", (time.time() - 1, enqueued["job_id"])
        )
    gone = wait_until(
        lambda: (r := api.client.get(enqueued["job_url"])).status_code == 404 and r, 30
    )
    assert gone.json() == {"error": "job not found or expired"}
    assert api.client.get(enqueued["image_url"]).status_code == 404


def test_job_ttl_hours_is_bounded_at_start_up(api_factory: Any) -> None:
    longest = MAX_RETENTION_S // 3600  # darkroom's longest retention, 50 years
    with pytest.raises(ValidationError, match="JOB_TTL_HOURS"):
        enabled("smartcrop", {"JOB_TTL_HOURS": str(longest + 1)})
    api = _start(api_factory, workers=0, JOB_TTL_HOURS=str(longest))
    page = {"filename": "p.jpg", "content_base64": _b64(make_image(20, 20))}
    enqueued = api.client.post("/thumbnail", json={"image_files": [page]})
    assert enqueued.status_code == 202, enqueued.text  # every submission failed before
    assert enqueued.json()["expires_in_seconds"] == MAX_RETENTION_S


def test_mounted_under_a_prefix_its_links_carry_it(api_factory: Any) -> None:
    api: InProcessDarkroom = api_factory(workers=1, DARKROOM_DIALECTS="smartcrop@/sc")
    body = {"image_files": [{"filename": "a.jpg", "content_base64": _b64(make_image(320, 240))}]}
    enqueued = api.client.post("/sc/thumbnail", json=body).json()
    assert enqueued["job_url"] == f"{api.url}/sc/job/{enqueued['job_id']}"
    job = _settled(api, enqueued["job_url"])
    assert job["status"] == "done", job
    assert job["result"]["output_path"] == enqueued["image_url"]
    image = api.client.get(enqueued["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
