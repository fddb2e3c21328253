"""Seed 004's API (ThumbForge) through its routes in this process (its variables and
prefixes with a started server): every route, field and error case, the three ways of
handling a URL submitted again, and its THUMBFORGE_* variables."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import pyvips
import redis
import sqlalchemy

from tests.helpers import (
    ApiCalls,
    DarkroomProcess,
    LoopbackServer,
    make_image,
    on_sqlite,
    wait_until,
)
from tests.servers import Postgres, Redis

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
RECORD_FIELDS = {"id", "url", "status", "attempts", "created_at", "updated_at", "result", "error"}


def _settled(api: ApiCalls, job_id: str, prefix: str = "/v1") -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = api.client.get(f"{prefix}/images/{job_id}").json()
        return job if job["status"] in ("completed", "failed") else None

    found: dict[str, Any] = wait_until(done, 60)
    return found


@on_sqlite
def test_a_url_becomes_a_thumbnail_with_its_metadata(
    api_factory: Any, loopback: LoopbackServer
) -> None:
    api = api_factory(workers=1, DARKROOM_DIALECTS="thumbforge", THUMBFORGE_THUMBNAIL_SIZE="64")
    url = loopback.serve_bytes("/photo.jpg", make_image(320, 200))
    submitted = api.client.post("/v1/images", json={"url": url})
    assert submitted.status_code == 202
    job = submitted.json()
    assert set(job) == RECORD_FIELDS
    assert (job["url"], job["status"], job["attempts"], job["result"], job["error"]) == (
        url, "pending", 0, None, None
    )  # fmt: skip
    assert uuid.UUID(job["id"]) and ISO.match(job["created_at"]) and ISO.match(job["updated_at"])

    done = _settled(api, job["id"])
    assert done["status"] == "completed" and done["attempts"] == 1 and done["error"] is None
    result = done["result"]
    assert result["width"] == 320 and result["height"] == 200 and result["format"] == "JPEG"
    assert result["size_bytes"] > 0 and result["source_content_type"] == "image/jpeg"
    assert result["source_url"] == url and result["thumbnail_path"].endswith(".jpg")

    thumbnail = api.client.get(f"/v1/images/{job['id']}/thumbnail")
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.headers["x-content-type-options"] == "nosniff"
    assert thumbnail.headers["content-disposition"] == f'attachment; filename="{job["id"]}.jpg"'
    image = pyvips.Image.new_from_buffer(thumbnail.content, "")
    assert (image.width, image.height) == (64, 40)  # THUMBFORGE_THUMBNAIL_SIZE, aspect kept

    assert api.client.get("/v1/metrics").json() == {
        "total": 1, "pending": 0, "processing": 0, "completed": 1, "failed": 0
    }  # fmt: skip
    assert api.client.get("/healthz").json()["status"] == "ok"


@on_sqlite
def test_listing_pages_and_filters(api_factory: Any, loopback: LoopbackServer) -> None:
    api = api_factory(workers=0, DARKROOM_DIALECTS="thumbforge", THUMBFORGE_MAX_PAGE_SIZE="3")
    ids = []
    for n in range(5):
        ids.append(api.client.post("/v1/images", json={"url": loopback.url(f"/{n}.jpg")}).json())
        time.sleep(0.01)
    newest_first = [j["id"] for j in reversed(ids)]
    page = api.client.get("/v1/images", params={"limit": 2, "offset": 1}).json()
    assert [j["id"] for j in page["items"]] == newest_first[1:3]
    assert page["pagination"] == {"total": 5, "limit": 2, "offset": 1, "has_more": True}
    capped = api.client.get("/v1/images", params={"limit": 50}).json()["pagination"]
    assert capped["limit"] == 3 and capped["has_more"] is True  # THUMBFORGE_MAX_PAGE_SIZE
    last = api.client.get("/v1/images", params={"offset": 4}).json()
    assert len(last["items"]) == 1 and last["pagination"]["has_more"] is False

    middle = ids[2]["created_at"]
    after = api.client.get("/v1/images", params={"created_after": middle}).json()
    assert [j["id"] for j in after["items"]] == newest_first[:3]  # inclusive
    before = api.client.get("/v1/images", params={"created_before": middle}).json()
    assert [j["id"] for j in before["items"]] == newest_first[2:]
    assert (
        api.client.get("/v1/images", params={"status": "pending"}).json()["pagination"]["total"]
        == 5
    )
    assert api.client.get("/v1/images", params={"status": "completed"}).json()["items"] == []
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert api.client.get("/v1/images", params={"created_after": future}).json()["items"] == []

    for bad in ({"status": "done"}, {"limit": 0}, {"offset": -1}, {"created_after": "soon"}):
        answer = api.client.get("/v1/images", params=bad)
        assert answer.status_code == 422, bad
        assert isinstance(answer.json()["detail"], list)


@on_sqlite
def test_errors_answer_as_fastapi_does(api_factory: Any, loopback: LoopbackServer) -> None:
    api = api_factory(workers=1, DARKROOM_DIALECTS="thumbforge")
    wrong_scheme = api.client.post("/v1/images", json={"url": "ftp://example.com/a.jpg"})
    assert wrong_scheme.status_code == 422
    assert wrong_scheme.json()["detail"][0]["type"] == "url_scheme"
    assert wrong_scheme.json()["detail"][0]["loc"] == ["body", "url"]
    assert api.client.post("/v1/images", json={}).json()["detail"][0]["type"] == "missing"
    not_uuid = api.client.get("/v1/images/abc")
    assert not_uuid.status_code == 422 and not_uuid.json()["detail"][0]["type"] == "uuid_parsing"
    unknown = api.client.get(f"/v1/images/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Job not found"})

    gone = api.client.post("/v1/images", json={"url": loopback.url("/missing.jpg")}).json()
    failed = _settled(api, gone["id"])
    assert failed["status"] == "failed" and failed["result"] is None and failed["error"]
    no_thumbnail = api.client.get(f"/v1/images/{gone['id']}/thumbnail")
    assert (no_thumbnail.status_code, no_thumbnail.json()) == (
        404, {"detail": "Thumbnail unavailable"}
    )  # fmt: skip
    metrics = api.client.get("/v1/metrics").json()
    assert metrics["failed"] == 1 and metrics["total"] == 1


@on_sqlite
def test_a_batch_of_urls(api_factory: Any, loopback: LoopbackServer) -> None:
    """POST /v1/images/batch queues each URL as POST /v1/images would: 202 with the records
    accepted, the URLs refused as active duplicates and those darkroom refused."""
    api = api_factory(
        workers=0, DARKROOM_DIALECTS="thumbforge", THUMBFORGE_DUPLICATE_HANDLING="reject-active"
    )
    first, second = loopback.url("/first.jpg"), loopback.url("/second.jpg")
    private = "http://10.1.2.3/inside.jpg"  # the outbound guard refuses it (403 alone)
    answer = api.client.post("/v1/images/batch", json={"urls": [first, second, first, private]})
    assert answer.status_code == 202
    batch = answer.json()
    assert set(batch) == {"accepted", "duplicates", "failed"}
    accepted = batch["accepted"]
    assert [j["url"] for j in accepted] == [first, second]
    assert all(set(j) == RECORD_FIELDS and j["status"] == "pending" for j in accepted)
    assert batch["duplicates"] == [
        {"url": first, "job_id": accepted[0]["id"], "message": "Job already active"}
    ]
    (failed,) = batch["failed"]
    assert failed["url"] == private and failed["error"]
    assert api.client.post("/v1/images", json={"url": private}).status_code == 403
    assert api.client.get(f"/v1/images/{accepted[1]['id']}").json() == accepted[1]
    assert api.client.get("/v1/images").json()["pagination"]["total"] == 2

    again = api.client.post("/v1/images/batch", json={"urls": [second]}).json()
    assert again["accepted"] == [] and again["duplicates"][0]["job_id"] == accepted[1]["id"]

    for bad, loc in (
        ({"urls": []}, ["body", "urls"]),
        ({"urls": [first, "ftp://example.com/a.jpg"]}, ["body", "urls", 1]),
        ({"urls": [first] * 101}, ["body", "urls"]),
        ({"url": first}, ["body", "urls"]),
    ):
        refused = api.client.post("/v1/images/batch", json=bad)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == loc
    assert api.client.get("/v1/images").json()["pagination"]["total"] == 2  # none queued


@on_sqlite
def test_the_thumbnail_is_served_as_a_file(api_factory: Any, loopback: LoopbackServer) -> None:
    """ETag (the SHA-256 of the JPEG: the same after a restart), Last-Modified (when it was
    stored), Accept-Ranges; 304 to a client that has it, 206 for a byte range."""
    api = api_factory(workers=1, DARKROOM_DIALECTS="thumbforge")
    url = loopback.serve_bytes("/photo.jpg", make_image(300, 200))
    job = api.client.post("/v1/images", json={"url": url}).json()
    assert _settled(api, job["id"])["status"] == "completed"
    path = f"/v1/images/{job['id']}/thumbnail"
    whole = api.client.get(path)
    assert whole.status_code == 200
    data, headers = whole.content, whole.headers
    etag = '"' + hashlib.sha256(data).hexdigest() + '"'
    assert headers["etag"] == etag and headers["accept-ranges"] == "bytes"
    stored_at = parsedate_to_datetime(headers["last-modified"])
    assert abs(stored_at.timestamp() - time.time()) < 120
    assert headers["content-length"] == str(len(data))

    for conditional in ({"If-None-Match": etag}, {"If-None-Match": f'"other", W/{etag}'}):
        cached = api.client.get(path, headers=conditional)
        assert (cached.status_code, cached.content, cached.headers["etag"]) == (304, b"", etag)
    since = api.client.get(path, headers={"If-Modified-Since": headers["last-modified"]})
    assert since.status_code == 304
    assert api.client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200

    head = api.client.get(path, headers={"Range": "bytes=0-9"})
    assert (head.status_code, head.content) == (206, data[:10])
    assert head.headers["content-range"] == f"bytes 0-9/{len(data)}"
    assert head.headers["content-type"] == "image/jpeg" and head.headers["etag"] == etag
    tail = api.client.get(path, headers={"Range": "bytes=-5", "If-Range": etag})
    assert (tail.status_code, tail.content) == (206, data[-5:])
    stale = api.client.get(path, headers={"Range": "bytes=0-9", "If-Range": '"older"'})
    assert (stale.status_code, stale.content) == (200, data)
    past = api.client.get(path, headers={"Range": f"bytes={len(data)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(data)}"
    several = api.client.get(path, headers={"Range": "bytes=0-1,4-5"})
    assert (several.status_code, several.content) == (200, data)  # answered whole

    api.stop()
    again = api_factory(workers=0, DARKROOM_DIALECTS="thumbforge").client.get(path)
    assert again.content == data
    assert (again.headers["etag"], again.headers["last-modified"]) == (
        etag, headers["last-modified"]
    )  # fmt: skip


@on_sqlite
@pytest.mark.parametrize("mode", ["allow-retry", "reuse-completed", "reject-active"])
def test_a_url_submitted_again(api_factory: Any, loopback: LoopbackServer, mode: str) -> None:
    api = api_factory(workers=1, DARKROOM_DIALECTS="thumbforge", THUMBFORGE_DUPLICATE_HANDLING=mode)
    url = loopback.serve_bytes("/same.jpg", make_image(50, 50))
    first = api.client.post("/v1/images", json={"url": url}).json()
    _settled(api, first["id"])
    again = api.client.post("/v1/images", json={"url": url.upper().replace("HTTP", "http")})
    assert again.status_code == 202  # the hash ignores case; only reject-active ever refuses
    if mode == "reuse-completed":
        assert again.json()["id"] == first["id"] and again.json()["status"] == "completed"
    else:
        assert again.json()["id"] != first["id"] and again.json()["status"] == "pending"
    _settled(api, again.json()["id"])
    in_batch = api.client.post("/v1/images/batch", json={"urls": [url]}).json()
    assert (in_batch["duplicates"], in_batch["failed"]) == ([], [])
    (accepted,) = in_batch["accepted"]  # the newest job is completed: no active duplicate
    assert (accepted["id"] == first["id"]) is (mode == "reuse-completed")

    if mode == "reject-active":

        def stall(handler: Any) -> None:
            time.sleep(3)  # the job stays processing meanwhile
            handler.send_error(404)

        loopback.routes["/slow.jpg"] = stall
        slow = loopback.url("/slow.jpg")
        active = api.client.post("/v1/images", json={"url": slow}).json()
        refused = api.client.post("/v1/images", json={"url": slow})
        assert refused.status_code == 409
        assert refused.json() == {
            "detail": {"message": "Job already active", "job_id": active["id"]}
        }


def test_its_variables_and_prefixes(
    tmp_path: Any, postgres: Postgres, redis_server: Redis, loopback: LoopbackServer
) -> None:
    """THUMBFORGE_DATABASE_URL (its asyncpg URL), THUMBFORGE_REDIS_URL and
    THUMBFORGE_QUEUE_NAME run it on PostgreSQL and Redis; THUMBFORGE_API_V1_PREFIX moves
    its routes, and a DARKROOM_DIALECTS prefix moves them all."""
    from tests.helpers import darkroom_env, free_port

    database = postgres.new_database().replace("+psycopg", "+asyncpg")
    port = free_port()
    env = darkroom_env(
        tmp_path / "data",
        DARKROOM_DIALECTS="thumbforge@/tf",
        THUMBFORGE_DATABASE_URL=database,
        THUMBFORGE_REDIS_URL=redis_server.url,
        THUMBFORGE_QUEUE_NAME=redis_server.new_stream(),
        THUMBFORGE_API_V1_PREFIX="/api",
        THUMBFORGE_WORKER_PROCESSES="1",
    )
    api = DarkroomProcess(
        args=["serve", "--port", str(port)], env=env, log_path=tmp_path / "serve.log", port=port
    ).start(wait_workers=1)
    try:
        url = loopback.serve_bytes("/p.png", make_image(40, 30, "png"), "image/png")
        job = api.client.post("/tf/api/images", json={"url": url}).json()
        done = _settled(api, job["id"], prefix="/tf/api")
        assert done["status"] == "completed" and done["result"]["format"] == "PNG"
        assert api.client.get("/tf/healthz").json() == {"status": "ok"}
        assert api.client.get("/tf/api/metrics").json()["completed"] == 1
        assert api.client.get("/v1/images").status_code == 404
        with sqlalchemy.create_engine(database.replace("+asyncpg", "+psycopg")).connect() as db:
            stored = db.execute(sqlalchemy.text("SELECT id, status FROM jobs")).all()
        assert stored == [(job["id"], "succeeded")]  # in THUMBFORGE_DATABASE_URL
        stream = env["THUMBFORGE_QUEUE_NAME"]
        assert redis.Redis.from_url(redis_server.url).xlen(stream) == 1  # through its queue
    finally:
        api.stop()
