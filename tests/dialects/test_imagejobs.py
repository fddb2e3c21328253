"""Seed 001's API and queue protocol (image jobs, a Redis task queue, R2), in this process
or in started ones where processes matter, with real Redis and S3 over HTTP: each route,
field and error, LPUSH tasks with malformed ones, foreign tasks left to their own consumer,
each image an ordinary darkroom job, and external-backend mode against a stand-in backend on
loopback, with a worker killed mid-job and a process killed between a job's outcome and its
record."""

from __future__ import annotations

import http.server
import json
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import pyvips
import redis

from tests.helpers import ApiCalls, DarkroomProcess, darkroom_env, make_image, on_sqlite, wait_until
from tests.servers import S3, Redis

RECORD = {
    "_id", "entityType", "entityId", "sourceImageURL", "sourceImageKey", "status", "errorMsg",
    "originalFilename", "mimetype", "fileSize", "createdAt", "updatedAt",
}  # fmt: skip
JS_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def r2(s3: S3, redis_server: Redis) -> dict[str, str]:
    """The variables of seed 001's backend: its Redis and its bucket (moto's S3 here)."""
    bucket = s3.new_bucket()
    endpoint = s3.env["AWS_ENDPOINT_URL"]
    return {
        "REDIS_URI": redis_server.url,
        "IMAGE_JOBS_QUEUE": redis_server.new_stream(),
        "R2_ENDPOINT": endpoint,
        "R2_ACCESS_KEY_ID": s3.env["AWS_ACCESS_KEY_ID"],
        "R2_SECRET_ACCESS_KEY": s3.env["AWS_SECRET_ACCESS_KEY"],
        "R2_BUCKET": bucket,
        "R2_REGION": "us-east-1",
        "R2_PUBLIC_URL": f"https://pub-test.r2.dev/{bucket}",
    }


def _redis(env: dict[str, str]) -> Any:
    return redis.Redis.from_url(env["REDIS_URI"], decode_responses=True)


def _objects(s3: S3, bucket: str) -> dict[str, bytes]:
    client = s3.client()
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def _completed(api: ApiCalls, job_id: str) -> dict[str, Any]:
    def record() -> dict[str, Any] | None:
        data: dict[str, Any] = api.client.get(f"/api/image-jobs/{job_id}").json()["data"]
        return data if data["status"] == "COMPLETED" else None

    found: dict[str, Any] = wait_until(record, 60)
    return found


def _create(api: ApiCalls, data: bytes, **fields: str) -> Any:
    form = {"entityType": "event", "entityId": "655501d2f12a3d0f3c5a1001"} | fields
    return api.client.post("/api/image-jobs", data=form, files={"file": ("photo.jpg", data)})


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_the_image_jobs_resource(api_factory: Any, r2: dict[str, str], s3: S3) -> None:
    api = api_factory(workers=1, DARKROOM_DIALECTS="imagejobs", **r2)
    created = _create(api, make_image(800, 400))
    assert created.status_code == 201, created.text
    job = created.json()["data"]
    assert created.json()["success"] is True and set(job) == RECORD
    assert re.fullmatch(r"[0-9a-f]{24}", job["_id"])
    assert re.fullmatch(r"raw/\d{13}-[0-9a-f]{12}\.jpg", job["sourceImageKey"])
    assert job["sourceImageURL"] == f"{r2['R2_PUBLIC_URL']}/{job['sourceImageKey']}"
    assert (job["status"], job["errorMsg"], job["originalFilename"]) == ("PENDING", "", "photo.jpg")
    assert job["mimetype"] == "image/jpeg" and job["fileSize"] > 0
    assert JS_TIME.match(job["createdAt"]) and JS_TIME.match(job["updatedAt"])

    done = _completed(api, job["_id"])
    base = job["sourceImageKey"].removeprefix("raw/").removesuffix(".jpg")
    assert done["outputImageKey"] == f"optimized/{base}-optimized.webp"
    assert done["outputImageURL"] == f"{r2['R2_PUBLIC_URL']}/{done['outputImageKey']}"
    assert JS_TIME.match(done["processedAt"])
    stored = _objects(s3, r2["R2_BUCKET"])
    assert set(stored) == {job["sourceImageKey"], done["outputImageKey"]}
    webp = pyvips.Image.new_from_buffer(stored[done["outputImageKey"]], "")
    assert webp.get("vips-loader").startswith("webp") and (webp.width, webp.height) == (800, 400)
    [rendered] = api.client.get("/v1/jobs", params={"label": "dialect:imagejobs"}).json()["jobs"]
    assert rendered["labels"] == {"dialect": "imagejobs", "image_job": job["_id"]}
    assert rendered["status"] == "succeeded"  # an ordinary darkroom job, made by a worker

    small = _completed(api, _create(api, make_image(200, 100)).json()["data"]["_id"])
    enlarged = pyvips.Image.new_from_buffer(
        _objects(s3, r2["R2_BUCKET"])[small["outputImageKey"]], ""
    )
    assert (enlarged.width, enlarged.height) == (800, 400)  # as the system's worker: 800 wide
    api.client.delete(f"/api/image-jobs/{small['_id']}")

    listed = api.client.get(
        "/api/image-jobs", params={"entityType": "event", "entityId": "655501d2f12a3d0f3c5a1001"}
    ).json()
    assert listed["success"] is True and [j["_id"] for j in listed["data"]] == [job["_id"]]
    other = api.client.get("/api/image-jobs", params={"entityType": "report", "entityId": "x"})
    assert other.json()["data"] == []
    for partial in ({}, {"entityType": "event"}):
        unnamed = api.client.get("/api/image-jobs", params=partial)
        assert unnamed.status_code == 400
        assert unnamed.json()["message"] == "entityType and entityId are required"
    stats = api.client.get("/api/image-jobs/stats").json()["data"]
    assert (stats["queueLength"], stats["pending"], stats["completed"], stats["failed"]) == (
        0, 0, 1, 0
    )  # fmt: skip
    assert stats["processingDuration"]["count"] == 1

    deleted = api.client.delete(f"/api/image-jobs/{job['_id']}")
    assert deleted.json() == {"success": True, "message": "Image job deleted successfully"}
    assert _objects(s3, r2["R2_BUCKET"]) == {}
    gone = api.client.get(f"/api/image-jobs/{job['_id']}")
    assert gone.status_code == 404
    body = gone.json()  # the document's envelope, and the system's error handler's fields
    assert (body["success"], body["message"], body["status"], body["error"]) == (
        False, "Image job not found", 404, "Bad Request"
    )  # fmt: skip
    assert JS_TIME.match(body["timestamp"])
    for route in ("get", "delete"):
        malformed = getattr(api.client, route)("/api/image-jobs/not-an-id")
        assert (malformed.status_code, malformed.json()["message"]) == (400, "Invalid ID format")

    for fields, status in (({"entityType": "party"}, 400), ({"entityId": ""}, 400)):
        refused = _create(api, make_image(10, 10), **fields)
        assert refused.status_code == status and refused.json()["success"] is False
    not_image = _create(api, b"plain text")
    assert not_image.status_code == 400 and "not an image" in not_image.json()["message"]


@on_sqlite
def test_the_status_callback_needs_its_token_and_retry_queues_again(
    api_factory: Any, r2: dict[str, str]
) -> None:
    api = api_factory(
        workers=0, DARKROOM_DIALECTS="imagejobs", IMAGE_JOBS_WORKER_TOKEN="s3cret", **r2
    )
    job = _create(api, make_image(50, 50)).json()["data"]
    queue = _redis(r2)
    pushed = queue.lrange(r2["IMAGE_JOBS_QUEUE"], 0, -1)
    assert [json.loads(m) for m in pushed] == [
        {"task_type": "process_image", "payload": {"imageJobID": job["_id"]}}
    ]
    url = f"/api/image-jobs/{job['_id']}/status"
    for headers in ({}, {"X-Worker-Token": "wrong"}):
        refused = api.client.patch(url, json={"status": "PROCESSING"}, headers=headers)
        assert refused.status_code == 401 and refused.json()["success"] is False
    token = {"X-Worker-Token": "s3cret"}
    processing = api.client.patch(url, json={"status": "PROCESSING"}, headers=token).json()
    assert processing["data"]["status"] == "PROCESSING" and "processedAt" not in processing["data"]
    failed = api.client.patch(
        url,
        json={"status": "failed", "errorMsg": "Failed to process image: invalid format"},
        headers={"Authorization": "Bearer s3cret"},
    ).json()["data"]
    assert failed["status"] == "FAILED" and failed["errorMsg"].endswith("invalid format")
    assert JS_TIME.match(failed["processedAt"])
    bad = api.client.patch(url, json={"status": "DONE"}, headers=token)
    assert bad.status_code == 400
    no_status = api.client.patch(url, json={}, headers=token)
    assert (no_status.status_code, no_status.json()["message"]) == (400, "status is required")

    retried = api.client.post(f"/api/image-jobs/{job['_id']}/retry").json()["data"]
    assert (retried["status"], retried["errorMsg"]) == ("PENDING", "")
    assert queue.llen(r2["IMAGE_JOBS_QUEUE"]) == 2
    completed = api.client.patch(
        url,
        json={"status": "COMPLETED", "outputImageURL": "https://x/o.webp",
              "outputImageKey": "optimized/o.webp"},
        headers=token,
    ).json()["data"]  # fmt: skip
    assert completed["outputImageKey"] == "optimized/o.webp"
    refused = api.client.post(f"/api/image-jobs/{job['_id']}/retry")
    assert (refused.status_code, refused.json()["message"]) == (400, "Can only retry failed jobs")


@on_sqlite
def test_own_tasks_that_cannot_be_done_go_to_the_dead_letter_list(
    serve_factory: Any, r2: dict[str, str]
) -> None:
    """A process_image task without an image job, or naming none that exists, is dead-
    lettered with the reason; what is not a process_image task is not darkroom's to
    judge: it stays on the queue, in order."""
    api = serve_factory(workers=1, DARKROOM_DIALECTS="imagejobs", **r2)
    queue, name = _redis(r2), r2["IMAGE_JOBS_QUEUE"]
    foreign = ["not json", '{"task_type":"send_email","payload":{}}']
    own = [
        '{"task_type":"process_image","payload":{}}',
        '{"task_type":"process_image","payload":{"imageJobID":"655501d2f12a3d0f3c5a1002"}}',
    ]
    for message in [foreign[0], own[0], foreign[1], own[1]]:
        queue.lpush(name, message)
    dead = wait_until(lambda: len(q := queue.lrange(f"{name}:dead", 0, -1)) == 2 and q, 30)
    entries = sorted((orjson.loads(d) for d in dead), key=lambda e: own.index(e["message"]))
    assert [e["reason"] for e in entries] == [
        "payload.imageJobID is missing",
        "no image job 655501d2f12a3d0f3c5a1002",
    ]
    assert queue.lrange(name, 0, -1) == foreign[::-1]  # untouched, oldest at the right
    assert wait_until(lambda: api.log().count(f"task moved to {name}:dead") == 2, 10)
    processing = list(queue.scan_iter(match=f"{name}:processing:*"))
    assert all(queue.llen(key) == 0 for key in processing)


@on_sqlite
def test_foreign_tasks_stay_for_their_own_worker_in_order(
    api_factory: Any, r2: dict[str, str]
) -> None:
    """The system's backend pushes generate_report tasks onto the same list for its own
    worker. With darkroom consuming beside it, that worker gets every one of them, in
    the order they were pushed, and darkroom every image task."""
    api = api_factory(workers=1, DARKROOM_DIALECTS="imagejobs", **r2)
    queue, name = _redis(r2), r2["IMAGE_JOBS_QUEUE"]
    reports_taken: list[str] = []
    stop = threading.Event()

    def report_worker() -> None:  # as the system's own worker: pops the oldest, skips none
        own = redis.Redis.from_url(r2["REDIS_URI"], decode_responses=True)
        while not stop.is_set():
            popped = own.brpop([name], timeout=0.2)
            if popped is None:
                continue
            task = json.loads(popped[1])
            if task["task_type"] == "generate_report":
                reports_taken.append(task["payload"]["reportID"])
            else:  # an image task it happened to pop: give it back, as a shared worker must
                own.rpush(name, popped[1])
            time.sleep(0.05)  # a slow consumer: darkroom sees reports waiting beside it

    images = [_create(api, make_image(40, 30)).json()["data"]["_id"] for _ in range(2)]
    reports = [f"report-{n}" for n in range(8)]
    for n, report in enumerate(reports):
        task = {"task_type": "generate_report", "payload": {"reportID": report}}
        queue.lpush(name, json.dumps(task))
        if n == 3:
            images += [_create(api, make_image(40, 30)).json()["data"]["_id"] for _ in range(2)]
    worker = threading.Thread(target=report_worker, daemon=True)
    worker.start()
    try:
        for image in images:
            _completed(api, image)
        wait_until(lambda: len(reports_taken) == len(reports), 30)
    finally:
        stop.set()
        worker.join()
    assert reports_taken == reports
    assert queue.llen(name) == 0 and queue.llen(f"{name}:dead") == 0


class StandInBackend:
    """The seed's backend, as much as its worker talks to: GET image jobs (with the
    access-token cookie its routes require), PATCH their status (recorded, the worker
    token checked) and the raw images' public URLs. ``stall_completed``: the first
    COMPLETED PATCH is recorded and then never answered."""

    def __init__(self, token: str, access_token: str = "jwt-for-darkroom") -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.images: dict[str, bytes] = {}
        self.patches: list[tuple[str, dict[str, Any]]] = []
        self.release = threading.Event()
        self.release.set()
        self.downloads = 0
        self.unavailable = 0  # GETs of image jobs to answer 503 before answering again
        self.stall_completed = False
        self.stalled = threading.Event()
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.startswith("/raw/"):
                    backend.downloads += 1
                    backend.release.wait(60)
                    data = backend.images[self.path.removeprefix("/")]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if f"accessToken={access_token}" not in (self.headers.get("cookie") or ""):
                    self._json(401, {"success": False, "message": "Access token is required"})
                    return
                if backend.unavailable > 0:
                    backend.unavailable -= 1
                    self._json(503, {"success": False, "message": "try later"})
                    return
                job = backend.jobs.get(self.path.rsplit("/", 1)[-1])
                if job is None:
                    self._json(404, {"success": False, "message": "Image job not found"})
                else:
                    self._json(200, {"success": True, "data": job})

            def do_PATCH(self) -> None:
                if self.headers.get("x-worker-token") != token:
                    self._json(401, {"success": False, "message": "Invalid worker token"})
                    return
                job_id = self.path.split("/")[-2]
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                backend.patches.append((job_id, body))
                backend.jobs[job_id].update(body)
                backend.jobs[job_id]["updatedAt"] = f"{time.time():.6f}"
                if body["status"] == "COMPLETED" and backend.stall_completed:
                    backend.stall_completed = False
                    backend.stalled.set()
                    time.sleep(120)  # the caller is killed meanwhile
                    return
                self._json(200, {"success": True, "data": backend.jobs[job_id]})

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, job_id: str, key: str, data: bytes) -> None:
        self.images[key] = data
        self.jobs[job_id] = {
            "_id": job_id, "entityType": "report", "entityId": "r1",
            "sourceImageURL": f"{self.url}/{key}", "sourceImageKey": key,
            "status": "PENDING", "errorMsg": "",
        }  # fmt: skip

    def statuses(self, job_id: str) -> list[str]:
        return [body["status"] for jid, body in self.patches if jid == job_id]

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()


@pytest.fixture
def stand_in() -> Any:
    backend = StandInBackend(token="w0rker")
    yield backend
    backend.close()


def _task(image_job_id: str) -> str:
    """A task as the seed's backend pushes it (LPUSH task_queue '…')."""
    return json.dumps({"task_type": "process_image", "payload": {"imageJobID": image_job_id}})


def _worker(tmp_path: Path, name: str, env: dict[str, str]) -> DarkroomProcess:
    return DarkroomProcess(
        args=["worker", "--concurrency", "1"],
        env=darkroom_env(tmp_path / "data", **env),
        log_path=tmp_path / f"{name}.log",
    ).start()


def _external(r2: dict[str, str], stand_in: StandInBackend, **more: str) -> dict[str, str]:
    return r2 | {
        "DARKROOM_DIALECTS": "imagejobs",
        "IMAGE_JOBS_BACKEND_URL": stand_in.url,
        "IMAGE_JOBS_WORKER_TOKEN": "w0rker",
        "IMAGE_JOBS_BACKEND_TOKEN": "jwt-for-darkroom",
        "DARKROOM_OUTBOUND_ALLOW": "127.0.0.0/8",
        "DARKROOM_LEASE_S": "3",
        **more,
    }


def _darkroom_jobs(tmp_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(tmp_path / "data" / "darkroom.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM jobs ORDER BY created_at")]


def test_external_backend_mode_and_a_killed_worker(
    tmp_path: Path, r2: dict[str, str], s3: S3, stand_in: StandInBackend
) -> None:
    """The task becomes a darkroom job that downloads sourceImageURL in a worker process;
    that process is killed mid-download, and the job is taken up again by the next one
    and recorded COMPLETED once."""
    env = _external(r2, stand_in)
    queue, name = _redis(r2), r2["IMAGE_JOBS_QUEUE"]
    stand_in.add("655501d2f12a3d0f3c5a1aaa", "raw/1700000000000-abc123def456.png",
                 make_image(300, 200, "png"))  # fmt: skip
    stand_in.add("655501d2f12a3d0f3c5a1bbb", "raw/1700000000001-bad.jpg", b"\xff\xd8 broken")

    first = _worker(tmp_path, "first", env)
    try:
        stand_in.release.clear()  # the first download hangs: the worker is mid-job
        queue.lpush(name, _task("655501d2f12a3d0f3c5a1aaa"))
        wait_until(lambda: stand_in.downloads == 1, 30)
        assert stand_in.statuses("655501d2f12a3d0f3c5a1aaa") == ["PROCESSING"]
        first.kill_group()
    finally:
        first.stop()
    assert queue.llen(name) == 0  # the task became a job: the job engine holds it now
    [job] = _darkroom_jobs(tmp_path)
    assert job["status"] == "processing" and json.loads(job["sources"])[0]["kind"] == "url"
    stand_in.release.set()

    second = _worker(tmp_path, "second", env)
    try:
        wait_until(lambda: "COMPLETED" in stand_in.statuses("655501d2f12a3d0f3c5a1aaa"), 60)
        queue.lpush(name, _task("655501d2f12a3d0f3c5a1bbb"))
        wait_until(lambda: "FAILED" in stand_in.statuses("655501d2f12a3d0f3c5a1bbb"), 60)
    finally:
        assert second.stop() == 0
    done = stand_in.jobs["655501d2f12a3d0f3c5a1aaa"]
    key = "optimized/1700000000000-abc123def456-optimized.webp"
    assert stand_in.statuses("655501d2f12a3d0f3c5a1aaa") == ["PROCESSING", "COMPLETED"]
    assert (done["outputImageKey"], done["outputImageURL"]) == (key, f"{r2['R2_PUBLIC_URL']}/{key}")
    webp = pyvips.Image.new_from_buffer(_objects(s3, r2["R2_BUCKET"])[key], "")
    assert (webp.width, webp.height) == (800, 533)  # enlarged to 800 wide, as the worker did
    failed = stand_in.jobs["655501d2f12a3d0f3c5a1bbb"]
    assert failed["status"] == "FAILED" and failed["errorMsg"].startswith("Failed to process image")
    first_job, second_job = _darkroom_jobs(tmp_path)
    assert (first_job["status"], first_job["attempts"]) == ("succeeded", 2)
    assert second_job["status"] == "failed"
    assert queue.llen(name) == 0 and queue.llen(f"{name}:dead") == 0
    assert not [k for k in queue.scan_iter(match=f"{name}:processing:*") if queue.llen(k)]


def test_a_crash_between_the_outcome_and_its_record_records_it_once(
    tmp_path: Path, r2: dict[str, str], stand_in: StandInBackend
) -> None:
    """The job succeeds; the effect that records it on the backend is under way when its
    process is killed (the backend took the PATCH but never answered). The next process
    takes the effect over once its lease runs out, finds the record COMPLETED, and
    leaves it: one COMPLETED, nothing lost, nothing repeated."""
    env = _external(r2, stand_in, DARKROOM_WEBHOOK_TIMEOUT_S="2")  # effect lease: 14 s
    stand_in.add("655501d2f12a3d0f3c5a1ddd", "raw/1700000000003-ddd.jpg", make_image(90, 60))
    stand_in.stall_completed = True
    first = _worker(tmp_path, "first", env)
    try:
        _redis(r2).lpush(r2["IMAGE_JOBS_QUEUE"], _task("655501d2f12a3d0f3c5a1ddd"))
        assert stand_in.stalled.wait(60)
        first.kill_group()
    finally:
        first.stop()
    with sqlite3.connect(tmp_path / "data" / "darkroom.db") as db:
        [(state, attempts)] = db.execute("SELECT state, attempts FROM job_effects").fetchall()
    assert (state, attempts) == ("pending", 0)  # the killed attempt was never recorded

    second = _worker(tmp_path, "second", env)
    try:

        def effect_done() -> Any:
            with sqlite3.connect(tmp_path / "data" / "darkroom.db") as db:
                return db.execute("SELECT state FROM job_effects").fetchone()[0] == "delivered"

        wait_until(effect_done, 60)
    finally:
        second.stop()
    assert stand_in.statuses("655501d2f12a3d0f3c5a1ddd") == ["PROCESSING", "COMPLETED"]
    assert "effect carried out" in (tmp_path / "second.log").read_text()
    [job] = _darkroom_jobs(tmp_path)
    assert (job["status"], job["attempts"]) == ("succeeded", 1)  # rendered once


def test_refused_credentials_fail_fast(
    tmp_path: Path, r2: dict[str, str], stand_in: StandInBackend
) -> None:
    """The backend's image-job routes need its access-token cookie: a token it refuses
    is said once, plainly, and the task is set aside, not retried five times."""
    env = _external(r2, stand_in, IMAGE_JOBS_BACKEND_TOKEN="expired")
    stand_in.add("655501d2f12a3d0f3c5a1eee", "raw/1700000000004-eee.jpg", make_image(20, 20))
    queue, name = _redis(r2), r2["IMAGE_JOBS_QUEUE"]
    worker = _worker(tmp_path, "worker", env)
    try:
        queue.lpush(name, _task("655501d2f12a3d0f3c5a1eee"))
        [dead] = wait_until(lambda: queue.lrange(f"{name}:dead", 0, -1), 30)
    finally:
        worker.stop()
    assert "refused darkroom's credentials" in orjson.loads(dead)["reason"]
    log = (tmp_path / "worker.log").read_text()
    assert "answered 401" in log and "put back for another try" not in log
    assert stand_in.patches == []


@on_sqlite
def test_without_a_bucket_darkroom_stores_and_serves_the_images(
    api_factory: Any, redis_server: Redis
) -> None:
    env = {"REDIS_URI": redis_server.url, "IMAGE_JOBS_QUEUE": redis_server.new_stream()}
    api = api_factory(workers=1, DARKROOM_DIALECTS="001", **env)
    job = _create(api, make_image(120, 80)).json()["data"]
    done = _completed(api, job["_id"])
    for url in (done["sourceImageURL"], done["outputImageURL"]):
        path = url.split("/api/image-jobs/files/", 1)[1]
        served = api.client.get(f"/api/image-jobs/files/{path}")
        assert served.status_code == 200 and served.content
        assert served.headers["x-content-type-options"] == "nosniff"
    assert api.client.get("/api/image-jobs/files/jobs/x").status_code == 404


def test_a_backend_that_does_not_answer_is_tried_again(
    tmp_path: Path, r2: dict[str, str], stand_in: StandInBackend
) -> None:
    env = _external(r2, stand_in)
    stand_in.add("655501d2f12a3d0f3c5a1ccc", "raw/1700000000002-ccc.jpg", make_image(64, 64))
    stand_in.unavailable = 2
    worker = _worker(tmp_path, "worker", env)
    try:
        _redis(r2).lpush(r2["IMAGE_JOBS_QUEUE"], _task("655501d2f12a3d0f3c5a1ccc"))
        wait_until(lambda: "COMPLETED" in stand_in.statuses("655501d2f12a3d0f3c5a1ccc"), 60)
    finally:
        worker.stop()
    log = (tmp_path / "worker.log").read_text()
    assert log.count("image job put back for another try") == 2
    assert stand_in.unavailable == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_nul_or_a_lone_surrogate_is_never_a_500(api_factory: Any, redis_server: Redis) -> None:
    env = {"REDIS_URI": redis_server.url, "IMAGE_JOBS_QUEUE": redis_server.new_stream()}
    api = api_factory(workers=0, DARKROOM_DIALECTS="imagejobs", **env)
    refused = _create(api, make_image(10, 10), entityId="a\x00b")  # PostgreSQL refuses it
    assert refused.status_code == 400
    assert refused.json()["message"] == "entityId must not contain a NUL character"
    listed = api.client.get("/api/image-jobs", params={"entityType": "event", "entityId": "\x00"})
    assert listed.status_code == 200 and listed.json()["data"] == []
    job = _create(api, make_image(10, 10)).json()["data"]
    status = f"/api/image-jobs/{job['_id']}/status"
    # JSON's lone "\ud800" and a NUL in the worker's message: U+FFFD, the message kept
    sent = '{"status": "FAILED", "errorMsg": "bad\\u0000\\ud800"}'
    failed = api.client.patch(status, content=sent, headers={"content-type": "application/json"})
    assert failed.status_code == 200, failed.text
    assert failed.json()["data"]["errorMsg"] == "bad\ufffd\ufffd"
    for field in ("outputImageKey", "outputImageURL"):  # names no object: refused
        bad = api.client.patch(status, json={"status": "COMPLETED", field: "optimized/\x00"})
        assert bad.status_code == 400, bad.text
        assert bad.json()["message"] == f"{field}: must not contain a NUL character"
    assert api.client.get(f"/api/image-jobs/{job['_id']}").json()["data"]["status"] == "FAILED"
