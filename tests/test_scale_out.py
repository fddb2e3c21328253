"""API and worker processes apart, sharing only PostgreSQL and storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DarkroomProcess, darkroom_env, make_image


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
