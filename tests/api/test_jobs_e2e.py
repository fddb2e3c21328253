"""The native API end to end: in this process where only the answers matter
(tests/inprocess.py), against a started `darkroom serve` where the process does (its pool,
its wake-ups, its log)."""

from __future__ import annotations

import base64
import http.server
import json
import time
from typing import Any

import pyvips

from tests.helpers import DarkroomProcess, LoopbackServer, make_image, on_sqlite, wait_until
from tests.inprocess import InProcessDarkroom


def decode(data: bytes) -> Any:
    return pyvips.Image.new_from_buffer(data, "")


def test_upload_poll_fetch(api: InProcessDarkroom) -> None:
    resp = api.upload(
        make_image(800, 600),
        {
            "outputs": [
                {
                    "name": "small",
                    "op": "thumbnail",
                    "width": 200,
                    "height": 200,
                    "format": "webp",
                    "quality": 70,
                }
            ],
            "labels": {"album": "a1"},
        },
    )
    assert resp.status_code == 202, resp.text
    created = resp.json()
    assert created["status"] == "queued"
    assert created["queue_position"] >= 1
    assert created["links"]["self"].endswith(f"/v1/jobs/{created['id']}")
    assert created["links"]["outputs"]["small"].endswith("/outputs/small")
    assert resp.headers["location"] == created["links"]["self"]

    job = api.wait_job(created["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == 100
    assert job["attempts"] == 1
    assert job["queue_position"] is None
    assert job["started_at"] and job["finished_at"]
    [output] = job["outputs"]
    assert (output["name"], output["format"], output["width"], output["height"]) == (
        "small",
        "webp",
        200,
        150,
    )
    [source] = job["sources"]
    assert source["kind"] == "upload"
    assert (source["format"], source["width"], source["height"]) == ("jpeg", 800, 600)
    assert len(source["sha256"]) == 64
    assert source["frames"] == 1

    got = api.client.get(output["url"])
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/webp"
    assert len(got.content) == output["bytes"]
    assert decode(got.content).width == 200
    etag = got.headers["etag"]
    again = api.client.get(output["url"], headers={"If-None-Match": etag})
    assert again.status_code == 304


@on_sqlite  # images, logs or the process: not the engines
def test_base64_data_uri_and_default_output(api: InProcessDarkroom) -> None:
    payload = base64.b64encode(make_image(1000, 500, "png")).decode()
    created = api.submit(
        {"source": {"base64": f"data:image/png;base64,{payload}", "filename": "wide.png"}}
    )
    job = api.wait_job(created["id"])
    assert job["status"] == "succeeded", job
    [output] = job["outputs"]
    assert (output["name"], output["format"], output["width"], output["height"]) == (
        "default",
        "webp",
        512,
        256,
    )
    assert job["sources"][0]["filename"] == "wide.png"


@on_sqlite  # images, logs or the process: not the engines
def test_url_source_and_many_outputs_from_one_decode(
    api: InProcessDarkroom, loopback: LoopbackServer
) -> None:
    url = loopback.serve_bytes("/photo.jpg", make_image(1600, 1200))
    created = api.submit(
        {
            "source": {"url": url},
            "outputs": [
                {"name": "card", "op": "thumbnail", "width": 320, "format": "webp"},
                {"name": "hero", "op": "thumbnail", "width": 1280, "format": "avif", "quality": 50},
                {"name": "square", "op": "cover", "width": 300, "height": 300, "format": "jpeg"},
                {"name": "exact", "op": "resize", "width": 100, "height": 300, "format": "png"},
            ],
        }
    )
    job = api.wait_job(created["id"])
    assert job["status"] == "succeeded", job
    got = {o["name"]: (o["format"], o["width"], o["height"]) for o in job["outputs"]}
    assert got == {
        "card": ("webp", 320, 240),
        "hero": ("avif", 1280, 960),
        "square": ("jpeg", 300, 300),
        "exact": ("png", 100, 300),
    }
    assert job["sources"][0]["kind"] == "url"
    assert job["sources"][0]["width"] == 1600
    assert loopback.hits["/photo.jpg"] == 1
    for output in job["outputs"]:
        resp = api.client.get(output["url"])
        assert resp.headers["content-type"] == f"image/{output['format']}"
        image = decode(resp.content)
        assert (image.width, image.height) == (output["width"], output["height"])


def test_on_the_fly_conversion_is_cached(api: InProcessDarkroom) -> None:
    created = api.upload(
        make_image(640, 480),
        {"outputs": [{"name": "main", "op": "thumbnail", "width": 600, "format": "png"}]},
    ).json()
    job = api.wait_job(created["id"])
    url = job["outputs"][0]["url"]
    first = api.client.get(url, params={"format": "avif", "width": 150, "quality": 40})
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/avif"
    assert decode(first.content).width == 150
    variants = api.blobs().keys(f"jobs/{job['id']}/variants/")
    assert [key.rsplit("/", 1)[-1] for key in variants] == ["w150-q40.avif"]
    second = api.client.get(url, params={"format": "avif", "width": 150, "quality": 40})
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    plain = api.client.get(url)
    assert plain.headers["etag"] != first.headers["etag"]
    assert plain.headers["content-type"] == "image/png"
    bad = api.client.get(url, params={"format": "bmp"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_request"


@on_sqlite  # images, logs or the process: not the engines
def test_several_sources_get_indexed_outputs(api: InProcessDarkroom) -> None:
    files = [
        ("file", (f"p{i}.jpg", make_image(300 + i * 100, 200), "image/jpeg")) for i in range(3)
    ]
    resp = api.client.post(
        "/v1/jobs",
        files=files,
        data={"spec": '{"outputs": [{"name": "t", "op": "thumbnail", "width": 100}]}'},
    )
    assert resp.status_code == 202, resp.text
    job = api.wait_job(resp.json()["id"])
    assert job["status"] == "succeeded", job
    assert [(o["name"], o["source"], o["width"]) for o in job["outputs"]] == [
        ("t-0", 0, 100),
        ("t-1", 1, 100),
        ("t-2", 2, 100),
    ]
    assert [s["width"] for s in job["sources"]] == [300, 400, 500]


def test_idempotency_key(api: InProcessDarkroom) -> None:
    body = {
        "source": {"base64": base64.b64encode(make_image(64, 64)).decode()},
        "idempotency_key": "order-17",
    }
    first = api.client.post("/v1/jobs", json=body)
    second = api.client.post("/v1/jobs", json=body)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("idempotent-replayed") == "true"
    other = api.client.post("/v1/jobs", json={**body, "labels": {"x": "y"}})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"


def test_list_filters_and_cursor_pagination(api: InProcessDarkroom) -> None:
    ids = []
    for i in range(5):
        resp = api.upload(make_image(50, 50), {"labels": {"batch": "b7", "n": str(i)}})
        ids.append(resp.json()["id"])
    api.upload(make_image(50, 50), {"labels": {"batch": "other"}})
    for job_id in ids:
        api.wait_job(job_id)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"label": "batch:b7", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.client.get("/v1/jobs", params=params).json()
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))

    both = api.client.get("/v1/jobs", params=[("label", "batch:b7"), ("label", "n:3")]).json()
    assert [j["id"] for j in both["jobs"]] == [ids[3]]
    done = api.client.get("/v1/jobs", params={"status": "succeeded", "limit": 500}).json()
    assert set(ids) <= {j["id"] for j in done["jobs"]}
    assert api.client.get("/v1/jobs", params={"status": "failed"}).json()["jobs"] == []
    created = api.job(ids[2])["created_at"]
    after = api.client.get(
        "/v1/jobs", params={"created_after": created, "label": "batch:b7"}
    ).json()
    assert [j["id"] for j in after["jobs"]] == [ids[4], ids[3]]
    before = api.client.get(
        "/v1/jobs", params={"created_before": created, "label": "batch:b7"}
    ).json()
    assert [j["id"] for j in before["jobs"]] == [ids[1], ids[0]]
    bad = api.client.get("/v1/jobs", params={"cursor": "!!!"})
    assert bad.status_code == 422


@on_sqlite  # images, logs or the process: not the engines
def test_health_ready_stats_and_openapi(server: DarkroomProcess) -> None:
    health = server.client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["workers_alive"] == 2
    assert health["pool_size"] == 2
    ready = server.client.get("/readyz").json()
    assert ready == {
        "status": "ready",
        "checks": {"database": "ok", "queue": "ok", "storage": "ok"},
    }
    job = server.wait_job(server.upload(make_image(40, 40)).json()["id"])
    assert job["status"] == "succeeded"
    stats = server.client.get("/v1/stats").json()
    assert stats["jobs"]["succeeded"] >= 1
    assert set(stats["jobs"]) == {"queued", "processing", "succeeded", "failed", "canceled"}
    assert stats["succeeded_last_minute"] >= 1
    assert stats["throughput_per_s"] > 0
    spec = server.client.get("/openapi.json").json()
    post = spec["paths"]["/v1/jobs"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "JobRequest" in spec["components"]["schemas"]
    assert "/v1/jobs/{job_id}/outputs/{name}" in spec["paths"]
    events = spec["paths"]["/v1/jobs/{job_id}/events"]["get"]["responses"]
    assert "text/event-stream" in events["200"]["content"]
    assert "202" in spec["paths"]["/v1/jobs/{job_id}/webhook/redeliver"]["post"]["responses"]
    job_schema = spec["components"]["schemas"]["JobOut"]["properties"]
    assert {"webhook", "retention_s", "expires_at"} <= set(job_schema)
    options = spec["components"]["schemas"]["JobRequest"]["properties"]
    assert {"webhook_url", "retention_s"} <= set(options)
    assert server.client.get("/docs").status_code == 200


@on_sqlite  # images, logs or the process: not the engines
def test_pool_resized_at_runtime(server: DarkroomProcess) -> None:
    resp = server.client.put("/v1/admin/workers", json={"workers": 3})
    assert resp.status_code == 200
    assert resp.json()["size"] == 3
    wait_until(lambda: server.client.get("/healthz").json()["workers_alive"] == 3, 30)
    resp = server.client.put("/v1/admin/workers", json={"workers": 1})
    assert resp.json()["size"] == 1
    wait_until(lambda: server.client.get("/v1/admin/workers").json()["alive"] == 1, 30)
    wait_until(lambda: server.client.get("/healthz").json()["workers_alive"] == 1, 30)
    job = server.wait_job(server.upload(make_image(40, 40)).json()["id"])
    assert job["status"] == "succeeded"


def test_idle_workers_wake_on_submission_not_on_their_poll(serve_factory: Any) -> None:
    server = serve_factory(workers=1, DARKROOM_POLL_INTERVAL_S="120")
    time.sleep(1)  # the worker has looked once and is now idle until woken
    # Done within half the poll interval: the submission itself woke the worker.
    job = server.wait_job(server.upload(make_image(40, 40)).json()["id"], timeout_s=60)
    assert job["status"] == "succeeded"


def test_transient_download_errors_retry_with_backoff(
    api: InProcessDarkroom, loopback: LoopbackServer
) -> None:
    data = make_image(100, 100)
    calls = {"n": 0}

    def flaky(handler: http.api.BaseHTTPRequestHandler) -> None:
        calls["n"] += 1
        if calls["n"] < 3:
            handler.send_error(503)
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    loopback.routes["/flaky.jpg"] = flaky
    job = api.wait_job(api.submit({"source": {"url": loopback.url("/flaky.jpg")}})["id"])
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 3
    assert calls["n"] == 3


def test_failed_job_retried_on_request(api: InProcessDarkroom, loopback: LoopbackServer) -> None:
    created = api.submit({"source": {"url": loopback.url("/later.jpg")}})
    job = api.wait_job(created["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "download_rejected"
    assert job["attempts"] == 1  # a 404 is not worth retrying
    out = api.client.get(f"/v1/jobs/{job['id']}/outputs/default")
    assert out.status_code == 422
    assert out.json()["error"]["code"] == "job_failed"

    loopback.serve_bytes("/later.jpg", make_image(64, 64))
    retried = api.client.post(f"/v1/jobs/{job['id']}/retry")
    assert retried.status_code == 200
    assert retried.json()["status"] == "queued"
    job = api.wait_job(job["id"])
    assert job["status"] == "succeeded"
    assert job["error"] is None
    again = api.client.post(f"/v1/jobs/{job['id']}/retry")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"


def test_queued_job_cancel_and_not_finished(api_factory: Any) -> None:
    api = api_factory(workers=0)
    created = api.upload(make_image(64, 64)).json()
    pending = api.client.get(f"/v1/jobs/{created['id']}/outputs/default")
    assert pending.status_code == 409
    assert pending.json()["error"]["code"] == "not_finished"
    assert api.job(created["id"])["queue_position"] == 1
    second = api.upload(make_image(64, 64)).json()
    assert second["queue_position"] == 2
    canceled = api.client.delete(f"/v1/jobs/{created['id']}")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["artifacts_deleted"] is True
    assert api.job(second["id"])["queue_position"] == 1
    gone = api.client.get(f"/v1/jobs/{created['id']}/outputs/default")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "artifacts_deleted"
    assert api.blobs().keys(f"jobs/{created['id']}/") == []
    unknown = api.client.get("/v1/jobs/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


def test_delete_finished_job_removes_artifacts(api: InProcessDarkroom) -> None:
    job = api.wait_job(api.upload(make_image(64, 64)).json()["id"])
    assert job["status"] == "succeeded"
    deleted = api.client.delete(f"/v1/jobs/{job['id']}").json()
    assert deleted["status"] == "succeeded"
    assert deleted["artifacts_deleted"] is True
    resp = api.client.get(job["outputs"][0]["url"])
    assert resp.status_code == 404
    assert api.blobs().keys(f"jobs/{job['id']}/") == []


@on_sqlite  # images, logs or the process: not the engines
def test_json_logs_have_a_line_per_transition(serve_factory: Any) -> None:
    api = serve_factory(workers=1, DARKROOM_LOG_FORMAT="json")
    job = api.wait_job(api.upload(make_image(64, 64)).json()["id"])
    broken = make_image(600, 400)
    failed = api.wait_job(api.upload(broken[: len(broken) // 3]).json()["id"])
    assert (job["status"], failed["status"]) == ("succeeded", "failed")
    entries = [json.loads(line) for line in api.log().splitlines() if line.startswith("{")]
    mine = [e for e in entries if e.get("job_id") == job["id"]]
    assert [e["msg"] for e in mine] == ["job queued", "job started", "job succeeded"]
    assert mine[-1]["duration_s"] >= 0
    [failure] = [e for e in entries if e.get("job_id") == failed["id"] and e["msg"] == "job failed"]
    assert failure["error_code"] == "corrupt_image"
    assert "duration_s" in failure and failure["level"] == "warning"


@on_sqlite  # images, logs or the process: not the engines
def test_animated_gif_stays_animated_only_where_the_format_can(api: InProcessDarkroom) -> None:
    from tests.imaging.samples import animation, save

    gif = save(animation(120, 80, [(255, 0, 0), (0, 255, 0), (0, 0, 255)]), ".gif")
    spec = {
        "outputs": [
            {"name": "moving", "op": "thumbnail", "width": 60, "format": "webp"},
            {"name": "still", "op": "thumbnail", "width": 60, "format": "jpeg"},
        ]
    }
    job = api.wait_job(api.upload(gif, spec, filename="a.gif").json()["id"])
    assert job["status"] == "succeeded", job
    assert job["sources"][0]["frames"] == 3
    frames = {o["name"]: o["frames"] for o in job["outputs"]}
    assert frames == {"moving": 3, "still": 1}
    moving = decode(api.client.get(f"/v1/jobs/{job['id']}/outputs/moving").content)
    assert moving.get("n-pages") == 3


@on_sqlite  # images, logs or the process: not the engines
def test_exif_orientation_is_applied(api: InProcessDarkroom) -> None:
    stored = pyvips.Image.new_from_buffer(make_image(400, 200), "").copy()
    stored.set_type(pyvips.GValue.gint_type, "orientation", 6)  # shown rotated 90° clockwise
    data = stored.write_to_buffer(".jpg")
    spec = {"outputs": [{"name": "t", "op": "thumbnail", "width": 100, "height": 100}]}
    job = api.wait_job(api.upload(data, spec).json()["id"])
    source = job["sources"][0]
    assert (source["orientation"], source["width"], source["height"]) == (6, 200, 400)
    [output] = job["outputs"]
    assert (output["format"], output["width"], output["height"]) == ("jpeg", 50, 100)
    fetched = decode(api.client.get(output["url"]).content)
    assert (fetched.width, fetched.height) == (50, 100)
    assert "orientation" not in fetched.get_fields() or fetched.get("orientation") == 1
