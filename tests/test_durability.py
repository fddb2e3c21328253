"""Jobs survive restarts, killed workers, timeouts and shutdown: tests with real processes.
What leases and the store must get right (a restart, a killed worker's job taken over, a
job deleted mid-attempt) runs on every backend; what only the process pool does
(replacing a killed process, timing out an attempt, finishing the running job on SIGTERM)
runs on the embedded one."""

from __future__ import annotations

import http.server
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from tests.helpers import (
    DarkroomProcess,
    LoopbackServer,
    darkroom_env,
    make_image,
    on_sqlite,
    wait_until,
)
from tests.inprocess import InProcessDarkroom

# uvicorn re-raises the SIGTERM it handled once shut down, so a clean stop reports it.
CLEAN_EXIT = (0, -signal.SIGTERM)


def slow_route(data: bytes, seconds: float, started: threading.Event | None = None) -> Any:
    """Serve ``data`` in pieces spread over ``seconds``."""

    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        if started is not None:
            started.set()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        pieces = 10
        step = len(data) // pieces + 1
        try:
            for i in range(pieces):
                handler.wfile.write(data[i * step : (i + 1) * step])
                handler.wfile.flush()
                time.sleep(seconds / pieces)
        except (BrokenPipeError, ConnectionResetError):
            pass

    return route


def output_files(server: DarkroomProcess, job_id: str) -> list[str]:
    prefix = f"jobs/{job_id}/outputs/"
    return [key.removeprefix(prefix) for key in server.blobs().keys(prefix)]


def test_restart_with_queued_jobs_loses_none(serve_factory: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "shared-data"
    api = serve_factory(workers=0, data_dir=data_dir)
    ids = [api.upload(make_image(80 + i, 60)).json()["id"] for i in range(6)]
    assert all(api.job(i)["status"] == "queued" for i in ids)
    assert api.stop() in CLEAN_EXIT
    assert "Application shutdown complete" in api.log()

    again = serve_factory(workers=2, data_dir=data_dir)
    jobs = [again.wait_job(i) for i in ids]
    assert [j["status"] for j in jobs] == ["succeeded"] * 6
    assert [j["attempts"] for j in jobs] == [1] * 6


def test_sigkilled_worker_job_completes_exactly_once(
    serve_factory: Any, loopback: LoopbackServer, tmp_path: Path, backend: dict[str, str]
) -> None:
    data_dir = tmp_path / "data"
    api = serve_factory(workers=0, data_dir=data_dir)
    started = threading.Event()
    loopback.routes["/slow.jpg"] = slow_route(make_image(400, 300), 1.5, started)
    job_id = api.submit({"source": {"url": loopback.url("/slow.jpg")}})["id"]

    env = darkroom_env(data_dir, **backend)  # lease 3 s
    first = DarkroomProcess(["worker", "--concurrency", "1"], env, tmp_path / "w1.log").start()
    assert started.wait(30), first.log()
    assert api.job(job_id)["status"] == "processing"
    first.kill_group()  # the worker supervisor and its worker process, no chance to clean up

    second = DarkroomProcess(["worker", "--concurrency", "1"], env, tmp_path / "w2.log").start()
    try:
        job = api.wait_job(job_id, timeout_s=60)
    finally:
        second.stop()
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert loopback.hits["/slow.jpg"] == 2
    assert output_files(api, job_id) == ["default.webp"]
    assert "job succeeded" in second.log()
    assert "job succeeded" not in first.log()


@on_sqlite
def test_killed_pool_process_is_replaced_and_its_job_rerun(
    serve_factory: Any, loopback: LoopbackServer
) -> None:
    api = serve_factory(workers=1)
    started = threading.Event()
    loopback.routes["/slow.jpg"] = slow_route(make_image(300, 300), 2.0, started)
    job_id = api.submit({"source": {"url": loopback.url("/slow.jpg")}})["id"]
    assert started.wait(30)
    [pid] = api.client.get("/v1/admin/workers").json()["pids"]
    os.kill(pid, signal.SIGKILL)
    job = api.wait_job(job_id, timeout_s=60)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    new_pids = api.client.get("/v1/admin/workers").json()["pids"]
    assert len(new_pids) == 1 and new_pids != [pid]
    assert "worker died; restarting" in api.log()


@on_sqlite
def test_job_timeout_kills_the_attempt_and_fails_after_attempts(
    serve_factory: Any, loopback: LoopbackServer
) -> None:
    api = serve_factory(workers=1, DARKROOM_JOB_TIMEOUT_S="1", DARKROOM_MAX_ATTEMPTS="2")
    loopback.routes["/stuck.jpg"] = slow_route(make_image(100, 100), 6.0)
    job = api.wait_job(api.submit({"source": {"url": loopback.url("/stuck.jpg")}})["id"], 60)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "timeout"
    assert job["attempts"] == 2
    wait_until(lambda: api.client.get("/v1/admin/workers").json()["alive"] == 1, 30)
    ok = api.wait_job(api.upload(make_image(50, 50)).json()["id"])
    assert ok["status"] == "succeeded"


@on_sqlite
def test_sigterm_finishes_running_job_before_exit(
    serve_factory: Any, loopback: LoopbackServer, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    api = serve_factory(workers=1, data_dir=data_dir)
    started = threading.Event()
    loopback.routes["/slow.jpg"] = slow_route(make_image(200, 200), 2.0, started)
    job_id = api.submit({"source": {"url": loopback.url("/slow.jpg")}})["id"]
    assert started.wait(30)
    assert api.stop(timeout_s=60) in CLEAN_EXIT
    log = api.log()
    assert "job succeeded" in log, log[-3000:]

    again = serve_factory(workers=0, data_dir=data_dir)
    job = again.job(job_id)
    assert job["status"] == "succeeded"
    assert job["attempts"] == 1


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its parent counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@on_sqlite
def test_a_killed_api_process_leaves_no_worker_or_converter_behind(serve_factory: Any) -> None:
    api = serve_factory(workers=1)
    job = api.wait_job(
        api.upload(make_image(64, 48), {"outputs": [{"name": "t", "op": "convert"}]}).json()["id"]
    )
    # a variant starts a converter process beside the worker (api/variant_gate.py)
    variant = api.client.get(f"/v1/jobs/{job['id']}/outputs/t", params={"format": "webp"})
    assert variant.status_code == 200
    children = api.child_pids()
    assert len(children) >= 3  # the worker, the converter and multiprocessing's tracker
    assert api.process is not None
    api.process.kill()  # the API alone: its children are left to notice
    api.process.wait(10)
    wait_until(lambda: all(_gone(pid) for pid in children), 20)


@on_sqlite
def test_progress_rises_on_long_jobs(api: InProcessDarkroom, loopback: LoopbackServer) -> None:
    urls = []
    for i in range(3):
        loopback.routes[f"/p{i}.jpg"] = slow_route(make_image(120, 90), 1.0)
        urls.append({"url": loopback.url(f"/p{i}.jpg")})
    job_id = api.submit({"sources": urls})["id"]
    seen: list[int] = []
    facts_seen = 0

    def finished() -> bool:
        nonlocal facts_seen
        job = api.job(job_id)
        seen.append(job["progress"])
        if job["status"] == "processing":
            facts_seen = max(facts_seen, sum(1 for s in job["sources"] if s["format"]))
        return job["status"] == "succeeded"

    wait_until(finished, 60, 0.05)
    middle = [p for p in seen if 0 < p < 100]
    assert middle, seen
    assert seen == sorted(seen)
    assert facts_seen >= 1


def test_job_deleted_while_processing_leaves_no_files(
    server: DarkroomProcess, loopback: LoopbackServer
) -> None:
    started = threading.Event()
    loopback.routes["/slow.jpg"] = slow_route(make_image(300, 200), 1.5, started)
    job_id = server.submit({"source": {"url": loopback.url("/slow.jpg")}})["id"]
    assert started.wait(30)
    deleted = server.client.delete(f"/v1/jobs/{job_id}").json()
    assert deleted["status"] == "canceled"
    wait_until(lambda: "job result discarded" in server.log(), 30)
    assert server.blobs().keys(f"jobs/{job_id}/") == []
    assert server.job(job_id)["status"] == "canceled"
