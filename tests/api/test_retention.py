"""Retention: a job's artifacts and request data are deleted once its time is up, and the
job then answers 404 `expired`."""

from __future__ import annotations

from typing import Any

import pytest

from darkroom.jobs import keys
from tests.helpers import make_image, wait_until

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql-redis-s3"], indirect=True)


def test_jobs_expire_per_job_and_by_default(api_factory: Any) -> None:
    api = api_factory(workers=1, DARKROOM_RETENTION_S="3600", DARKROOM_SWEEP_INTERVAL_S="0.2")
    blobs = api.blobs()
    short = api.upload(make_image(64, 64), {"retention_s": 1, "labels": {"k": "v"}}).json()
    kept = api.upload(make_image(64, 64)).json()
    assert short["retention_s"] == 1 and kept["retention_s"] == 3600
    finished = api.wait_job(kept["id"])
    assert finished["expires_at"] is not None
    assert blobs.keys(keys.job_prefix(short["id"]))  # source and output stored

    def expired() -> bool:
        return api.client.get(f"/v1/jobs/{short['id']}").status_code == 404

    wait_until(expired, 30, 0.1)
    gone = api.client.get(f"/v1/jobs/{short['id']}")
    assert gone.json()["error"]["code"] == "expired"
    output = api.client.get(f"/v1/jobs/{short['id']}/outputs/default")
    assert (output.status_code, output.json()["error"]["code"]) == (404, "expired")
    events = api.client.get(f"/v1/jobs/{short['id']}/events")
    assert events.status_code == 404
    assert blobs.keys(keys.job_prefix(short["id"])) == []
    listed = [j["id"] for j in api.client.get("/v1/jobs").json()["jobs"]]
    assert listed == [kept["id"]]
    assert api.client.get("/v1/jobs", params={"label": "k:v"}).json()["jobs"] == []
    assert api.job(kept["id"])["status"] == "succeeded"  # an hour to go
    assert blobs.keys(keys.job_prefix(kept["id"]))


def test_retention_is_off_by_default(api_factory: Any) -> None:
    api = api_factory(workers=1, DARKROOM_SWEEP_INTERVAL_S="0.2")
    job = api.wait_job(api.upload(make_image(32, 32)).json()["id"])
    assert (job["retention_s"], job["expires_at"]) == (None, None)
