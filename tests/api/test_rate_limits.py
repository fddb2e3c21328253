"""Rate limits and quotas of API keys (docs/security.md, "Access control"): a key's token
bucket, kept in the database and so shared by every API process, and its queued jobs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from darkroom.store.api_keys import ApiKeyStore, Limits
from tests.helpers import darkroom_env, make_image, on_sqlite
from tests.inprocess import InProcessDarkroom
from tests.keys import ADMIN_TOKEN, as_key, keyed_api


@pytest.fixture
def keyed(api_factory: Any) -> Iterator[tuple[InProcessDarkroom, ApiKeyStore]]:
    """An API with DARKROOM_AUTH=keys and no workers (jobs stay queued), and its key store."""
    with keyed_api(api_factory, workers=0) as found:
        yield found


def _code(resp: httpx.Response) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


@on_sqlite
def test_a_key_over_its_rate_is_refused_and_others_are_not(
    keyed: tuple[InProcessDarkroom, ApiKeyStore],
) -> None:
    api, store = keyed
    _, slow = store.create("slow", limits=Limits(rate_per_s=1, burst=2))
    _, other = store.create("other", limits=Limits(rate_per_s=1, burst=2))
    _, free = store.create("free")
    _, admin = store.create("ops", admin=True)

    answers = [api.client.get("/v1/jobs", headers=as_key(slow)) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    limited = answers[2]
    assert _code(limited) == (429, "rate_limited")
    assert limited.headers["retry-after"] == "1"  # a token a second: at most 1 s away
    assert "1 requests a second (bursts of 2)" in limited.json()["error"]["message"]
    assert _code(api.client.get("/v1/stats", headers=as_key(slow))) == (429, "rate_limited")

    assert api.client.get("/v1/jobs", headers=as_key(other)).status_code == 200  # its own bucket
    for key in (free, admin, ADMIN_TOKEN):  # no limit set: never limited
        assert {api.client.get("/v1/jobs", headers=as_key(key)).status_code for _ in range(5)} == {
            200
        }
    # refused before the key's limit is looked at: a wrong key is still 401
    assert _code(api.client.get("/v1/jobs", headers=as_key(slow + "x"))) == (401, "invalid_api_key")


@on_sqlite
def test_a_key_with_its_quota_of_queued_jobs_cannot_submit_more(
    keyed: tuple[InProcessDarkroom, ApiKeyStore],
) -> None:
    api, store = keyed
    _, capped = store.create("capped", limits=Limits(max_queued=2))
    _, free = store.create("free")

    def submit(key: str) -> httpx.Response:
        files = {"file": ("a.jpg", make_image(16, 16), "application/octet-stream")}
        return api.client.post("/v1/jobs", files=files, headers=as_key(key))

    first, second, third = (submit(capped) for _ in range(3))
    assert [first.status_code, second.status_code] == [202, 202]
    assert _code(third) == (429, "quota_exceeded")
    assert third.headers["retry-after"] == "5"
    assert submit(free).status_code == 202  # another key's queue is its own
    assert api.client.get("/v1/jobs", headers=as_key(capped)).status_code == 200  # reads go on
    # a job leaving the queue makes room
    canceled = api.client.delete(f"/v1/jobs/{first.json()['id']}", headers=as_key(capped))
    assert canceled.status_code == 200
    assert submit(capped).status_code == 202


def _create_key(env: dict[str, str], *args: str) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "darkroom", "keys", "create", *args],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return made.stdout.strip()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_bucket_and_the_quota_are_shared_by_api_processes(
    serve_factory: Any, backend: dict[str, str], tmp_path: Path
) -> None:
    env = darkroom_env(tmp_path / "cli", **backend)
    key = _create_key(env, "shared", "--rate", "0.5", "--burst", "3", "--max-queued", "4")
    queue_key = _create_key(env, "queue", "--max-queued", "3")
    listed = subprocess.run(
        [sys.executable, "-m", "darkroom", "keys", "list"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    header, *rows = listed.stdout.splitlines()
    assert header.split()[5:] == ["RATE", "BURST", "MAX-QUEUED"]
    row = next(row.split() for row in rows if row.split()[0] == "shared")
    assert row[5:] == ["0.5", "3", "4"]

    servers = [serve_factory(workers=0, DARKROOM_AUTH="keys") for _ in range(2)]
    clients = [httpx.Client(base_url=s.url, headers=as_key(key)) for s in servers]
    try:
        answers = [clients[i % 2].get("/v1/jobs") for i in range(8)]  # alternately
        assert [a.status_code for a in answers] == [200] * 3 + [429] * 5
        assert {a.json()["error"]["code"] for a in answers[3:]} == {"rate_limited"}
        assert all(int(a.headers["retry-after"]) >= 1 for a in answers[3:])

        # ten uploads at once, half to each process: the quota is counted as each job is
        # inserted, so that none passes it however they interleave
        def upload(i: int) -> httpx.Response:
            files = {"file": (f"{i}.jpg", make_image(16, 16), "application/octet-stream")}
            return clients[i % 2].post("/v1/jobs", files=files, headers=as_key(queue_key))

        with ThreadPoolExecutor(10) as pool:
            uploads = list(pool.map(upload, range(10)))
    finally:
        for client in clients:
            client.close()
    assert sorted(a.status_code for a in uploads) == [202] * 3 + [429] * 7
    assert {a.json()["error"]["code"] for a in uploads if a.status_code == 429} == {
        "quota_exceeded"
    }
    listed_jobs = httpx.get(f"{servers[0].url}/v1/jobs", headers=as_key(queue_key)).json()
    assert len(listed_jobs["jobs"]) == 3
