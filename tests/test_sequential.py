"""DARKROOM_SEQUENTIAL: one job at a time across every worker (the smart-crop seed's
single worker), through the database queue and through Redis, with two workers (threads
of this process: the one-at-a-time rule is the store's)."""

from __future__ import annotations

import base64
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest

from tests.helpers import make_image

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql-redis-s3"], indirect=True)


def test_jobs_never_overlap(api_factory: Any) -> None:
    api = api_factory(workers=2, DARKROOM_SEQUENTIAL="true")
    source = {"base64": base64.b64encode(make_image(2400, 1800)).decode()}
    outputs = [{"name": f"w{w}", "op": "thumbnail", "width": w} for w in (1600, 1200, 800)]
    ids = [api.submit({"source": source, "outputs": outputs})["id"] for _ in range(6)]
    jobs = [api.wait_job(job_id, timeout_s=120) for job_id in ids]
    assert all(job["status"] == "succeeded" for job in jobs)
    spans = sorted(
        (datetime.fromisoformat(j["started_at"]), datetime.fromisoformat(j["finished_at"]))
        for j in jobs
    )
    for (_, finished), (started, _) in pairwise(spans):
        assert started >= finished, spans
    assert api.client.get("/v1/stats").json()["workers_alive"] == 2  # both took part
