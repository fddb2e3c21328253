"""Many machines, played by separate OS processes: two API processes and three workers on
PostgreSQL, Redis and S3, one worker SIGKILLed and another SIGTERMed in the middle."""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import DarkroomProcess, darkroom_env, free_port, make_image, wait_until

JOBS = 300


@pytest.fixture
def backend(postgres_url: str, redis_env: dict[str, str], s3_env: dict[str, str]) -> dict[str, str]:
    return {"DARKROOM_DATABASE_URL": postgres_url, **redis_env, **s3_env}


def in_flight(worker: DarkroomProcess) -> set[str]:
    """Jobs this worker has started and not yet finished, from its JSON log."""
    started: set[str] = set()
    for line in worker.log().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("msg") == "job started":
                started.add(entry["job_id"])
            elif entry.get("msg") in ("job succeeded", "job failed", "job retry scheduled"):
                started.discard(entry["job_id"])
    return started


def kill_mid_job(worker: DarkroomProcess, api: DarkroomProcess) -> set[str]:
    """SIGKILL the worker and its processes while a job runs; return that job's id.

    The processes are frozen (SIGSTOP) first, so the job cannot finish between looking
    and the kill. A job counts as running when the log says it started and the database
    still says processing: the log line of a finished job comes just after its commit, so
    the log alone can call a job running that has already finished. Frozen between two
    jobs, the processes are let go and tried again."""
    for _ in range(500):
        children = worker.child_pids()
        for pid in children:
            os.kill(pid, signal.SIGSTOP)
        running = {j for j in in_flight(worker) if api.job(j)["status"] == "processing"}
        if running:
            worker.kill_group()
            return running
        for pid in children:
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError(f"the worker never had a job in flight:\n{worker.log()[-3000:]}")


def succeeded_by_job(workers: list[DarkroomProcess]) -> Counter[str]:
    """How many times a worker recorded each job as succeeded, from their JSON logs."""
    counts: Counter[str] = Counter()
    for worker in workers:
        for line in worker.log().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("msg") == "job succeeded":
                    counts[entry["job_id"]] += 1
    return counts


def test_300_jobs_survive_a_killed_and_a_stopped_worker(
    backend: dict[str, str], tmp_path: Path
) -> None:
    env = darkroom_env(tmp_path / "data", **backend, DARKROOM_LOG_FORMAT="json")
    apis = [
        DarkroomProcess(
            ["serve", "--port", str(port), "--workers", "0"], env, tmp_path / f"api{i}.log", port
        ).start()
        for i, port in enumerate([free_port(), free_port()])
    ]
    workers: list[DarkroomProcess] = []
    try:
        images = [make_image(960 + i % 7, 720) for i in range(JOBS)]
        ids = [
            apis[i % 2].submit({"source": {"base64": base64.b64encode(image).decode()}})["id"]
            for i, image in enumerate(images)
        ]
        # Workers start on a full queue, so that there is work in flight at every kill.
        workers += [
            DarkroomProcess(["worker", "--concurrency", "1"], env, tmp_path / f"w{i}.log").start()
            for i in range(3)
        ]

        def done() -> int:
            return int(apis[0].client.get("/v1/stats").json()["jobs"]["succeeded"])

        wait_until(lambda: done() >= JOBS // 4, 120)
        interrupted = kill_mid_job(workers[0], apis[0])  # gone without a word
        wait_until(lambda: done() >= JOBS // 2, 120)
        workers[1].signal(signal.SIGTERM)  # finishes its job, then leaves
        assert workers[1].process is not None
        workers[1].process.wait(60)
        jobs = [apis[i % 2].wait_job(job_id, timeout_s=180) for i, job_id in enumerate(ids)]
    finally:
        for process in [*workers, *apis]:
            process.stop()

    assert Counter(job["status"] for job in jobs) == {"succeeded": JOBS}
    by_id = {job["id"]: job for job in jobs}
    assert [by_id[job_id]["attempts"] for job_id in interrupted] == [2]  # run again, once
    # No job recorded as done twice; the killed worker's job ran again and counted once.
    assert set(succeeded_by_job(workers).values()) == {1}
    assert len(succeeded_by_job(workers)) == JOBS
    assert workers[1].process is not None and workers[1].process.returncode == 0
    # Each job's objects, once each, and nothing else in the bucket.
    keys = apis[0].blobs().keys("")
    expected = {f"jobs/{j}/{name}" for j in ids for name in ("sources/0", "outputs/default.webp")}
    assert Counter(keys) == Counter(expected)
    assert all(len(job["outputs"]) == 1 for job in jobs)
