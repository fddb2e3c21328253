"""Seed 003's API (the Go worker-pool service) through its routes in this process (its
variables with a started server): every route, field and error case its document and its
service give."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import pytest
import pyvips

from tests.helpers import (
    ApiCalls,
    DarkroomProcess,
    darkroom_env,
    free_port,
    make_image,
    on_sqlite,
    wait_until,
)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _finished(api: ApiCalls, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = api.client.get(f"/jobs/{job_id}").json()
        return job if job["status"] in ("completed", "failed") else None

    found: dict[str, Any] = wait_until(done, 60)
    return found


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@on_sqlite
def test_resize_and_thumbnail_jobs_from_submission_to_download(api_factory: Any) -> None:
    api = api_factory(workers=1, DARKROOM_DIALECTS="imageproc")
    png = make_image(400, 200, "png")
    submitted = api.client.post(
        "/jobs",
        json={"image_data": _b64(png), "operation": "resize", "width": 120, "height": 120},
    )
    assert submitted.status_code == 202
    body = submitted.json()
    assert body["status"] == "pending" and body["message"] == "Image processing job submitted"
    job = _finished(api, body["job_id"])
    assert job["status"] == "completed", job
    assert set(job) == {
        "id", "status", "input_path", "output_path", "operation", "width", "height",
        "created_at", "updated_at",
    }  # fmt: skip
    assert (job["id"], job["operation"], job["width"], job["height"]) == (
        body["job_id"], "resize", 120, 120
    )  # fmt: skip
    assert ISO.match(job["created_at"]) and ISO.match(job["updated_at"])
    assert job["output_path"].endswith(".png")  # the input's format by default
    download = api.client.get(f"/jobs/{body['job_id']}/download")
    assert download.status_code == 200 and download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    image = pyvips.Image.new_from_buffer(download.content, "")
    assert (image.width, image.height) == (120, 120)  # resize: exactly, aspect not kept

    thumb = api.client.post(
        "/jobs",
        json={
            "image_data": _b64(png),
            "operation": "thumbnail",
            "width": 100,
            "height": 100,
            "output_format": "jpeg",
        },
    ).json()
    assert _finished(api, thumb["job_id"])["status"] == "completed"
    download = api.client.get(f"/jobs/{thumb['job_id']}/download")
    assert download.headers["content-type"] == "image/jpeg"
    image = pyvips.Image.new_from_buffer(download.content, "")
    assert (image.width, image.height) == (100, 50)  # thumbnail: fits, aspect kept

    assert api.client.get("/health").json()["status"] == "healthy"
    assert abs(api.client.get("/health").json()["timestamp"] - time.time()) < 60


@on_sqlite
def test_thumbnail_scales_to_fit_and_truncates_as_the_service_did(api_factory: Any) -> None:
    """The service scaled a thumbnail up or down to fit the box and truncated each side
    (int(float64)); `output_format` "" is the input's format, as Gin's omitempty let it be."""
    api = api_factory(workers=1, DARKROOM_DIALECTS="imageproc")
    cases = [  # source size and format, box, output_format -> what the service made
        ((451, 300, "jpeg"), (100, 100), "jpeg", (100, 66), "image/jpeg"),
        ((1, 1, "png"), (50, 50), "png", (50, 50), "image/png"),  # its test script's job
        ((97, 50, "png"), (100, 100), "", (99, 51), "image/png"),  # 97 * (100/97) < 100
        ((300, 451, "jpeg"), (200, 100), None, (66, 100), "image/jpeg"),
    ]
    submitted = []
    for (width, height, fmt), (box_w, box_h), output_format, _, _ in cases:
        request: dict[str, Any] = {
            "image_data": _b64(make_image(width, height, fmt)),
            "operation": "thumbnail",
            "width": box_w,
            "height": box_h,
        }
        if output_format is not None:
            request["output_format"] = output_format
        answer = api.client.post("/jobs", json=request)
        assert answer.status_code == 202, answer.text
        submitted.append(answer.json()["job_id"])
    for job_id, (_, (box_w, box_h), _, size, media_type) in zip(submitted, cases, strict=True):
        job = _finished(api, job_id)
        assert job["status"] == "completed", job
        # the record shows what was asked for, not the resize darkroom was given
        assert (job["operation"], job["width"], job["height"]) == ("thumbnail", box_w, box_h)
        download = api.client.get(f"/jobs/{job_id}/download")
        assert download.headers["content-type"] == media_type
        image = pyvips.Image.new_from_buffer(download.content, "")
        assert (image.width, image.height) == size


@on_sqlite
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image_data": ""}, "image_data"),
        ({"operation": "crop"}, "operation"),
        ({"width": 0}, "width"),
        ({"height": 5000}, "height"),
        ({"width": "100"}, "width"),
        ({"output_format": "gif"}, "output_format"),
        ({"image_data": "not base64 at all!"}, "Invalid base64 image data"),
    ],
)
def test_requests_that_are_not_valid_get_400_with_a_message(
    api_factory: Any, change: dict[str, Any], message: str
) -> None:
    api = api_factory(workers=0, DARKROOM_DIALECTS="imageproc")
    request = {"image_data": _b64(make_image(20, 20)), "operation": "resize"}
    request |= {"width": 10, "height": 10} | change
    answer = api.client.post("/jobs", json=request)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]


@on_sqlite
def test_other_errors(api_factory: Any) -> None:
    api = api_factory(workers=0, DARKROOM_DIALECTS="imageproc", MAX_UPLOAD_SIZE="2000")
    big = {"image_data": _b64(make_image(300, 300)), "operation": "resize"}
    too_large = api.client.post("/jobs", json=big | {"width": 10, "height": 10})
    assert too_large.status_code == 413 and "2000" in too_large.json()["error"]
    assert api.client.post("/jobs", content=b"{not json").status_code == 400
    not_image = {"image_data": _b64(b"just text, no image"), "operation": "resize"}
    refused = api.client.post("/jobs", json=not_image | {"width": 10, "height": 10})
    assert refused.status_code == 400 and refused.json()["error"]
    assert api.client.get("/jobs/nope").json() == {"error": "Job not found"}
    assert api.client.get("/jobs/nope").status_code == 404
    queued = api.client.post(
        "/jobs", json={"image_data": _b64(make_image(20, 20)), "operation": "resize",
                       "width": 10, "height": 10},
    ).json()  # fmt: skip
    early = api.client.get(f"/jobs/{queued['job_id']}/download")
    assert (early.status_code, early.json()) == (400, {"error": "Image not ready"})
    native = api.submit({"source": {"base64": _b64(make_image(20, 20))}})
    assert api.client.get(f"/jobs/{native['id']}").status_code == 404  # not one of its jobs


def test_its_variables_are_honoured(tmp_path: Any) -> None:
    port = free_port()
    env = darkroom_env(
        tmp_path / "data", DARKROOM_DIALECTS="imageproc", PORT=str(port), WORKER_POOL_SIZE="2"
    )
    api = DarkroomProcess(
        args=["serve"], env=env, log_path=tmp_path / "serve.log", port=port
    ).start(wait_workers=2)
    try:
        assert api.client.get("/healthz").json()["pool_size"] == 2  # WORKER_POOL_SIZE
    finally:
        api.stop()
