"""API and worker processes apart, sharing only PostgreSQL, Redis and storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from darkroom.queue.redis_streams import GROUP
from tests.helpers import DarkroomProcess, darkroom_env, make_image
from tests.servers import Redis


@pytest.fixture
def backend(postgres_url: str) -> dict[str, str]:
    return {"DARKROOM_DATABASE_URL": postgres_url}


def test_a_worker_elsewhere_is_woken_by_notify_not_by_its_poll(
    serve_factory: Any, backend: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    slow_poll = {"DARKROOM_POLL_INTERVAL_S": "120"}
    api = serve_factory(workers=0, data_dir=data_dir, **slow_poll)
    env = darkroom_env(data_dir, **backend, **slow_poll)
    worker = DarkroomProcess(["worker", "--concurrency", "1"], env, tmp_path / "w.log").start()
    try:
        wait_for_idle = api.wait_job(api.upload(make_image(40, 40)).json()["id"], timeout_s=60)
        assert wait_for_idle["status"] == "succeeded"
        # now idle, blocked on LISTEN with its next poll two minutes away
        job = api.wait_job(api.upload(make_image(50, 30)).json()["id"], timeout_s=60)
    finally:
        worker.stop()
    assert job["status"] == "succeeded", worker.log()[-2000:]


def test_jobs_dispatched_through_redis_are_all_acknowledged(
    serve_factory: Any,
    backend: dict[str, str],
    redis_env: dict[str, str],
    redis_server: Redis,
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    api = serve_factory(workers=0, data_dir=data_dir, **redis_env)
    env = darkroom_env(data_dir, **backend, **redis_env)
    worker = DarkroomProcess(["worker", "--concurrency", "2"], env, tmp_path / "w.log").start()
    try:
        ids = [api.upload(make_image(40 + i, 30)).json()["id"] for i in range(6)]
        jobs = [api.wait_job(job_id) for job_id in ids]
    finally:
        worker.stop()
    assert [job["status"] for job in jobs] == ["succeeded"] * 6
    client = redis.Redis.from_url(redis_server.url)
    stream = redis_env["DARKROOM_BROKER_STREAM"]
    assert client.xlen(stream) == 6  # every job went through the stream ...
    assert client.xpending(stream, GROUP)["pending"] == 0  # ... and was acknowledged


@pytest.mark.parametrize("setting", ["presigned", "public"])
def test_outputs_redirect_to_the_store_when_asked(
    serve_factory: Any, backend: dict[str, str], s3_env: dict[str, str], setting: str
) -> None:
    # Never fetched: the test only reads where the redirect points.
    public = "http://127.0.0.1:9/media"
    extra = (
        {"DARKROOM_STORAGE_PRESIGN_S": "60"}
        if setting == "presigned"
        else {"DARKROOM_STORAGE_PUBLIC_URL": public}
    )
    api = serve_factory(workers=1, **s3_env, **extra)
    job = api.wait_job(api.upload(make_image(64, 48)).json()["id"])
    url = job["outputs"][0]["url"]
    resp = api.client.get(url, follow_redirects=False)
    assert resp.status_code == 307
    location = resp.headers["location"]
    bucket_path = s3_env["DARKROOM_STORAGE_URL"].removeprefix("s3://")
    object_path = f"{bucket_path}/jobs/{job['id']}/outputs/default.webp"
    if setting == "public":
        prefix = object_path.split("/", 1)[1]  # the public base serves the bucket's root
        assert location == f"{public}/{prefix}"
        return
    assert location.startswith(f"{s3_env['AWS_ENDPOINT_URL']}/{object_path}?")
    assert "Signature" in location
    direct = httpx.get(location)  # moto's S3 on loopback
    assert direct.status_code == 200
    assert direct.content == api.blobs().get(f"jobs/{job['id']}/outputs/default.webp")
    converted = api.client.get(url, params={"format": "png"}, follow_redirects=False)
    assert converted.status_code == 200  # conversions are still made and served here
