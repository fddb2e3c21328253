"""Seed 002's API (GreenVue listing images), in this process or a started server where
processes matter: the upload's immediate answer (as the system's web client reads it), the
batch processor's interval, batch size and retries, each image an ordinary darkroom job, the
jobs API, the debug endpoints (not in production) and images that wait across a restart."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvips
import sqlalchemy

from tests.helpers import ApiCalls, DarkroomProcess, darkroom_env, make_image, on_sqlite, wait_until
from tests.servers import S3


def _start(factory: Any, workers: int = 1, **env: str) -> ApiCalls:
    api: ApiCalls = factory(workers=workers, DARKROOM_DIALECTS="greenvue", **env)
    return api


def _upload(api: ApiCalls, title: str, *images: bytes, field: str = "file") -> Any:
    files = [(field, (f"{n}.jpg", data, "image/jpeg")) for n, data in enumerate(images)]
    return api.client.post("/api/upload/listing_image", data={"listing_title": title}, files=files)


def _job_times(api: ApiCalls) -> list[float]:
    """When each of the dialect's darkroom jobs was submitted, in order."""
    page = api.client.get("/v1/jobs", params={"label": "dialect:greenvue", "limit": 100})
    return sorted(
        datetime.fromisoformat(job["created_at"]).timestamp() for job in page.json()["jobs"]
    )


def _rows(tmp_path: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(tmp_path / "data" / "darkroom.db") as db:
        db.row_factory = sqlite3.Row
        return {r["id"]: dict(r) for r in db.execute("SELECT * FROM listing_images")}


def _path(url: str) -> str:
    return "/listing-images/" + url.rsplit("/listing-images/", 1)[1]


@on_sqlite
def test_uploads_answer_at_once_and_batches_run_every_interval(
    api_factory: Any, tmp_path: Path
) -> None:
    api = _start(api_factory, GREENVUE_IMAGE_INTERVAL="1s", GREENVUE_IMAGE_BATCH_SIZE="2")
    assert api.client.delete("/api/jobs/process-image-queue").status_code == 200  # hold them
    tall, small = make_image(1000, 1500), make_image(200, 100)
    answered = _upload(api, "My Listing: Green House!", tall, small, tall, tall, small)
    assert answered.status_code == 200
    body = answered.json()
    assert body["success"] is True and body["status"] == "success"  # client's, document's
    assert set(body["data"]) == {"message", "image_count", "images", "status"}
    data = body["data"]
    assert (data["message"], data["image_count"], data["status"]) == (
        "5 images queued for processing", 5, "processing"
    )  # fmt: skip
    for image in data["images"]:
        assert set(image) == {"id", "url", "file_name", "status"} and image["status"] == "pending"
        assert re.fullmatch(r"my-listing-green-house-[0-9a-f]{8}\.webp", image["file_name"])
        assert image["file_name"] == f"my-listing-green-house-{image['id'][:8]}.webp"
        assert image["url"] == f"{api.url}/listing-images/{image['file_name']}"
    first = data["images"][0]
    assert api.client.get(_path(first["url"])).status_code == 404  # not processed yet

    restarted = api.client.post(
        "/api/jobs",
        json={"id": "process-image-queue", "name": "Process Image Queue",
              "description": "Process pending images in queue", "type": "process_images",
              "interval": "1s", "payload": {"batch_size": 2}},
    )  # fmt: skip
    assert restarted.status_code == 201 and restarted.json()["data"]["status"] == "active"
    wait_until(lambda: all(r["status"] == "processed" for r in _rows(tmp_path).values()), 60)
    submitted = _job_times(api)
    assert len(submitted) == 5  # each image an ordinary darkroom job
    # Two per batch, each batch's turn a second after the last; a batch's submissions come
    # a little after its turn begins (its images are read and inspected first).
    for earlier, later in zip(submitted, submitted[2:], strict=False):
        assert later - earlier >= 0.6, submitted
    assert submitted[4] - submitted[0] >= 1.5, submitted

    served = api.client.get(_path(first["url"]))
    assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
    assert served.headers["x-content-type-options"] == "nosniff"
    image = pyvips.Image.new_from_buffer(served.content, "")
    assert (image.width, image.height) == (427, 640)  # at most 640 high, aspect kept
    small_one = pyvips.Image.new_from_buffer(
        api.client.get(_path(data["images"][1]["url"])).content, ""
    )
    assert (small_one.width, small_one.height) == (200, 100)  # never enlarged


@on_sqlite
def test_failures_are_retried_then_failed(serve_factory: Any, tmp_path: Path) -> None:
    api = _start(serve_factory, GREENVUE_IMAGE_INTERVAL="200ms", GREENVUE_IMAGE_MAX_RETRIES="3")
    broken = make_image(600, 400)[:3000]  # a header that reads, pixels that do not
    image = _upload(api, "Broken", broken).json()["data"]["images"][0]
    row = wait_until(lambda: (r := _rows(tmp_path)[image["id"]])["status"] == "failed" and r, 60)
    assert row["retries"] == 3 and row["error"].startswith("corrupt_image: ")
    assert api.log().count("listing image failed (retry)") == 2
    assert api.log().count("listing image failed (failed)") == 1
    tries = api.client.get("/v1/jobs", params={"label": f"listing_image:{image['id']}"})
    assert [j["status"] for j in tries.json()["jobs"]] == ["failed"] * 3  # one job per try
    assert _upload(api, "").status_code == 400


@on_sqlite
def test_invalid_files_are_skipped_and_a_request_without_images_is_refused(
    api_factory: Any, tmp_path: Path
) -> None:
    """As the system did: the valid images of a mixed upload are queued and answered 200
    (darkroom names the skipped ones); only an upload with no valid image is 400, and
    then nothing is stored or queued. Files come from `file`, or without it any field."""
    api = _start(api_factory, workers=0)
    api.client.delete("/api/jobs/process-image-queue")
    files = [
        ("file", ("a.jpg", make_image(60, 40), "image/jpeg")),
        ("file", ("notes.txt", b"not an image at all", "text/plain")),
        ("file", ("b.png", make_image(30, 30, "png"), "image/png")),
    ]
    mixed = api.client.post(
        "/api/upload/listing_image", data={"listing_title": "Mixed"}, files=files
    )
    assert mixed.status_code == 200 and mixed.json()["success"] is True
    data = mixed.json()["data"]
    assert data["image_count"] == 2 and len(data["images"]) == 2
    assert [s["file_name"] for s in data["skipped"]] == ["notes.txt"]
    assert len(_rows(tmp_path)) == 2

    refused = _upload(api, "Nothing", b"text", b"more text")
    assert refused.status_code == 400
    body = refused.json()
    assert body["success"] is False and body["status"] == "error"
    assert body["message"].startswith("No valid files were processed")
    assert len(_rows(tmp_path)) == 2  # nothing stored for the refused request
    stored = list((tmp_path / "data" / "blobs" / "greenvue" / "pending").iterdir())
    assert len(stored) == 2

    other_field = _upload(api, "Any Field", make_image(20, 20), field="photo")
    assert other_field.status_code == 200 and other_field.json()["data"]["image_count"] == 1
    missing_title = api.client.post(
        "/api/upload/listing_image", files=[("file", ("a.jpg", make_image(9, 9), "image/jpeg"))]
    )
    assert missing_title.status_code == 400
    assert missing_title.json()["message"] == "Missing listing title in form data"


@on_sqlite
def test_the_jobs_api(api_factory: Any) -> None:
    api = _start(api_factory)
    answer = api.client.get("/api/jobs/process-image-queue").json()
    assert answer["success"] is True
    job = answer["data"]
    assert (job["id"], job["type"], job["interval"], job["payload"], job["status"]) == (
        "process-image-queue", "process_images", "10s", {"batch_size": 10}, "active"
    )  # fmt: skip
    assert job["is_running"] is False
    for when in (job["last_run"], job["next_run"]):  # RFC 3339, as the system wrote them
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", when)
    listed = api.client.get("/api/jobs").json()
    assert listed["success"] is True and [j["id"] for j in listed["data"]] == [job["id"]]
    removed = api.client.delete("/api/jobs/process-image-queue").json()
    assert removed["success"] is True
    assert removed["data"]["message"] == "Job removed successfully"
    gone = api.client.get("/api/jobs/process-image-queue")
    assert gone.status_code == 400 and gone.json()["message"] == "Job not found"
    assert api.client.delete("/api/jobs/process-image-queue").status_code == 400
    assert api.client.get("/api/jobs").json()["data"] == []
    base = {"id": "process-image-queue", "type": "process_images", "interval": "1m30s"}
    for bad in ({"type": "send_mail"}, {"id": "other"}, {"interval": "soon"},
                {"payload": {"batch_size": 0}}):  # fmt: skip
        refused = api.client.post("/api/jobs", json=base | bad)
        assert refused.status_code == 400 and refused.json()["status"] == "error", bad
    created = api.client.post("/api/jobs", json=base | {"payload": {"batch_size": 4}})
    assert created.status_code == 201 and created.json()["success"] is True
    assert (created.json()["data"]["interval"], created.json()["data"]["payload"]) == (
        "1m30s", {"batch_size": 4}
    )  # fmt: skip
    assert created.json()["data"]["message"] == "Job created successfully"


@on_sqlite
def test_debug_endpoints_and_production_mode(api_factory: Any, tmp_path: Path) -> None:
    folder = tmp_path / "debug-images"
    folder.mkdir()
    (folder / "test.jpg").write_bytes(make_image(300, 900))
    api = _start(api_factory, workers=1, GREENVUE_DEBUG_IMAGE_ROOT=str(folder))
    api.client.delete("/api/jobs/process-image-queue")
    _upload(api, "Waiting", make_image(50, 50))
    status = api.client.get("/debug/image-queue-status").json()
    expected = {"pending_count": 1, "queue_status": {"initialized": True, "status": "stopped"}}
    assert status == {"success": True, "data": expected, **expected}  # system's and document's
    now = api.client.post(
        "/debug/upload-test-image",
        json={"listing_title": "Test Listing", "image_path": "test.jpg", "process_now": True},
    ).json()["data"]
    assert now["status"] == "processed" and now["file_name"].startswith("test-listing-")
    image = pyvips.Image.new_from_buffer(api.client.get(_path(now["url"])).content, "")
    assert image.height == 640
    outside = api.client.post(
        "/debug/upload-test-image", json={"listing_title": "x", "image_path": "../escape.jpg"}
    )
    assert outside.status_code == 403

    production = _start(
        api_factory, workers=0, APP_ENV="production", DARKROOM_DATA_DIR=str(tmp_path / "p")
    )
    assert production.client.get("/debug/image-queue-status").status_code == 404
    assert production.client.post("/debug/upload-test-image", json={}).status_code == 404


@on_sqlite
def test_waiting_images_survive_a_killed_server(serve_factory: Any, tmp_path: Path) -> None:
    first = _start(serve_factory, GREENVUE_IMAGE_INTERVAL="1s")
    first.client.delete("/api/jobs/process-image-queue")
    images = _upload(first, "Kept", make_image(100, 100), make_image(120, 80)).json()["data"]
    first.kill_group()
    second = _start(serve_factory, GREENVUE_IMAGE_INTERVAL="1s")
    assert second.client.get("/api/jobs/process-image-queue").status_code == 400  # still off
    assert second.client.get("/debug/image-queue-status").json()["pending_count"] == 2
    second.client.post(
        "/api/jobs", json={"id": "process-image-queue", "type": "process_images", "interval": "1s"}
    )
    for image in images["images"]:
        wait_until(lambda i=image: second.client.get(_path(i["url"])).status_code == 200, 60)
    assert second.client.get("/debug/image-queue-status").json()["pending_count"] == 0


@on_sqlite
def test_images_go_to_an_s3_compatible_bucket(api_factory: Any, s3: S3) -> None:
    """As to Supabase Storage: GREENVUE_STORAGE_URL names the bucket, GREENVUE_PUBLIC_URL
    its public address, which the answer's URLs are under."""
    bucket = s3.new_bucket()
    anyone_reads = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/*"}
        ],
    }  # fmt: skip
    s3.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(anyone_reads))  # public
    public = f"{s3.env['AWS_ENDPOINT_URL']}/{bucket}/listing-images"
    api = _start(
        api_factory,
        GREENVUE_IMAGE_INTERVAL="200ms",
        GREENVUE_STORAGE_URL=f"s3://{bucket}/listing-images",
        GREENVUE_PUBLIC_URL=public,
        **s3.env,
    )
    image = _upload(api, "Roof Garden", make_image(400, 800)).json()["data"]["images"][0]
    assert image["url"] == f"{public}/{image['file_name']}"
    client = s3.client()
    key = f"listing-images/{image['file_name']}"
    wait_until(lambda: client.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"), 60)
    served = httpx.get(image["url"])  # the bucket's public address
    assert served.status_code == 200
    assert pyvips.Image.new_from_buffer(served.content, "").height == 640


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_processes_take_turns(
    serve_factory: Any, backend: dict[str, str], tmp_path: Path
) -> None:
    """An API with a worker and a `darkroom worker` process both run the processor; each
    interval still gets one batch between them."""
    env = {"DARKROOM_DIALECTS": "greenvue", "GREENVUE_IMAGE_INTERVAL": "1s",
           "GREENVUE_IMAGE_BATCH_SIZE": "2"}  # fmt: skip
    api = serve_factory(workers=1, **env)
    api.client.delete("/api/jobs/process-image-queue")
    other = DarkroomProcess(
        args=["worker", "--concurrency", "1"],
        env=darkroom_env(tmp_path / "data", **backend, **env),
        log_path=tmp_path / "worker.log",
    ).start()
    try:
        images = _upload(api, "Turns", *[make_image(80, 60)] * 6).json()["data"]["images"]
        api.client.post(
            "/api/jobs",
            json={"id": "process-image-queue", "type": "process_images", "interval": "1s",
                  "payload": {"batch_size": 2}},
        )  # fmt: skip
        for image in images:
            wait_until(lambda i=image: api.client.get(_path(i["url"])).status_code == 200, 60)
    finally:
        other.stop()
    with sqlalchemy.create_engine(backend["DARKROOM_DATABASE_URL"]).connect() as db:
        statuses = [s for (s,) in db.execute(sqlalchemy.text("SELECT status FROM listing_images"))]
    assert statuses == ["processed"] * 6
    submitted = _job_times(api)
    assert len(submitted) == 6
    for earlier, later in zip(submitted, submitted[2:], strict=False):
        assert later - earlier >= 0.9, submitted  # one batch of two per interval, cluster-wide
    batches = api.log().count("listing images submitted") + other.log().count(
        "listing images submitted"
    )
    assert batches == 3


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_lone_surrogates_are_replaced_and_a_nul_is_refused(api_factory: Any) -> None:
    api = _start(api_factory, workers=0)
    base = {"id": "process-image-queue", "type": "process_images"}
    # JSON's lone "\ud800" (Python's parser takes it): U+FFFD, as Go's decoder made it
    sent = '{"id": "process-image-queue", "type": "process_images", "name": "a\\ud800b", '
    sent += '"description": "\\udc00", "payload": {"note\\ud800": ["\\udfff"]}}'
    created = api.client.post(
        "/api/jobs", content=sent, headers={"content-type": "application/json"}
    )
    assert created.status_code == 201, created.text
    job = created.json()["data"]
    assert (job["name"], job["description"]) == ("a\ufffdb", "\ufffd")
    assert job["payload"]["note\ufffd"] == ["\ufffd"]
    in_json = api.client.post("/api/jobs", json=base | {"payload": {"note": "a\x00"}})
    assert in_json.json()["data"]["payload"]["note"] == "a\x00"  # a JSON column keeps it
    for field in ("name", "description"):  # the system's PostgreSQL refused a NUL
        refused = api.client.post("/api/jobs", json=base | {field: "a\x00b"})
        assert refused.status_code == 400, refused.text
        assert refused.json() == {
            "success": False,
            "status": "error",
            "message": f"{field}: must not contain a NUL character",
        }
    titled = _upload(api, "Green\x00House", make_image(20, 20))
    assert titled.status_code == 400
    assert titled.json()["message"] == (
        "Invalid listing title in form data: must not contain a NUL character"
    )
    debug = api.client.post(
        "/debug/upload-test-image", json={"listing_title": "x\x00", "image_path": "a.jpg"}
    )
    assert debug.status_code == 400
    assert debug.json()["message"] == "listing_title: must not contain a NUL character"
    assert api.client.get("/debug/image-queue-status").json()["pending_count"] == 0
