"""Many event streams open at once in one API process: one reader (darkroom/api/job_watch.py)
reads every watched job per tick, and each stream still gets its job's events and ends."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from darkroom.api.job_watch import JobWatch
from darkroom.jobs.model import Job
from darkroom.jobs.status import JobStatus
from darkroom.store.job_reads import JobState
from darkroom.worker.process import WorkerSignals, run_worker
from tests.helpers import make_image, new_job, wait_until

JOBS = 5
STREAMS = 50  # ten on each job


def parse_events(body: str) -> list[tuple[str, int, dict[str, Any]]]:
    """(event, id, data) of each event of a whole stream; comment lines left out."""
    events = []
    for block in body.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if fields:
            events.append((fields["event"], int(fields["id"]), json.loads(fields["data"])))
    return events


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_fifty_streams_on_five_jobs_all_get_their_events_and_end(api_factory: Any) -> None:
    api = api_factory(workers=0, DARKROOM_EVENTS_POLL_S="0.05")  # the jobs wait, queued
    ids = [api.upload(make_image(900 + i, 600)).json()["id"] for i in range(JOBS)]
    answers: dict[int, Any] = {}

    def read(n: int) -> None:  # the test client answers once the stream has ended
        answers[n] = api.client.get(f"/v1/jobs/{ids[n % JOBS]}/events")

    readers = [threading.Thread(target=read, args=(n,)) for n in range(STREAMS)]
    for reader in readers:
        reader.start()
    watch: JobWatch = api.client.app.state.job_watch
    wait_until(lambda: watch.streams == STREAMS, 30)
    signals = WorkerSignals()
    worker = threading.Thread(target=run_worker, args=(api.settings, "late", signals))
    worker.start()  # the jobs run only now, with every stream open
    try:
        for reader in readers:
            reader.join(120)
    finally:
        signals.stop_requested = True
        worker.join(30)
    assert not any(reader.is_alive() for reader in readers)
    assert watch.streams == 0  # each stream let go of its job

    assert sorted(answers) == list(range(STREAMS))
    for n, answer in answers.items():
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = parse_events(answer.text)
        assert [number for _name, number, _data in events] == list(range(1, len(events) + 1))
        assert {data["id"] for _name, _number, data in events} == {ids[n % JOBS]}
        statuses = [data["status"] for name, _number, data in events if name == "status"]
        assert statuses in (["queued", "processing", "succeeded"], ["queued", "succeeded"])
        progress = [data["progress"] for _name, _number, data in events]
        assert progress == sorted(progress) and progress[-1] == 100
        final = events[-1][2]
        assert final["status"] == "succeeded" and len(final["outputs"]) == 1  # the whole job


class Jobs:
    """Jobs in a dict, read as the job store reads them; it records each read."""

    def __init__(self, *jobs: Job) -> None:
        self.jobs = {job.id: job for job in jobs}
        self.reads: list[tuple[str, list[str]]] = []

    def job_states(self, job_ids: Sequence[str]) -> dict[str, JobState]:
        self.reads.append(("states", sorted(job_ids)))
        return {i: JobState.of(self.jobs[i]) for i in job_ids if i in self.jobs}

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]:
        self.reads.append(("jobs", sorted(job_ids)))
        return {i: self.jobs[i] for i in job_ids if i in self.jobs}


def test_one_read_per_tick_serves_every_watcher() -> None:
    store = Jobs(*(new_job(job_id) for job_id in ("a", "b", "c", "d")))

    async def scenario() -> None:
        watch = JobWatch(store, poll_s=3600)  # ticks are driven by hand below
        with (
            watch.watch(store.jobs["a"]) as a1,
            watch.watch(store.jobs["a"]) as a2,
            watch.watch(store.jobs["b"]) as b,
            watch.watch(store.jobs["c"]) as c,
            watch.watch(store.jobs["d"]) as d,
        ):
            assert watch.streams == 5
            await watch.tick()
            assert store.reads == [("states", ["a", "b", "c", "d"])]  # one read for all
            assert not any([await w.changed(0) for w in (a1, a2, b, c, d)])  # none moved

            a = replace(store.jobs["a"], status=JobStatus.PROCESSING, attempts=1, progress=40)
            store.jobs["a"] = a
            del store.jobs["b"]  # deleted meanwhile
            store.jobs["d"] = replace(store.jobs["d"], expired_at=a.created_at + 1)
            store.reads.clear()
            await watch.tick()
            # the whole rows of the jobs that moved only, in one more read
            assert store.reads == [("states", ["a", "b", "c", "d"]), ("jobs", ["a"])]
            assert await a1.changed(0) and await a2.changed(0)
            assert a1.job is a2.job is a
            assert await b.changed(0) and b.job is None  # gone: its stream ends
            assert await d.changed(0) and d.job is None  # expired: gone as well
            assert not await c.changed(0) and c.job is not None
        assert watch.streams == 0
        store.reads.clear()
        await watch.tick()  # nothing watched: nothing read
        assert store.reads == []

    asyncio.run(scenario())
