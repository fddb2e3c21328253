"""The Redis Streams queue against a real redis-server: dispatch, takeover, acknowledgement."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis

from darkroom.jobs.model import Job
from darkroom.jobs.status import JobStatus
from darkroom.queue import RedisStreamQueue
from darkroom.queue.redis_streams import GROUP
from darkroom.store import JobStore, open_engine
from tests.helpers import new_job
from tests.servers import Redis

LEASE_S = 0.5


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))


@pytest.fixture
def stream(redis_server: Redis) -> str:
    return redis_server.new_stream()


def queue(store: JobStore, redis_server: Redis, stream: str, consumer: str) -> RedisStreamQueue:
    return RedisStreamQueue(
        store, redis_server.url, stream=stream, consumer=consumer, poll_interval_s=3600
    )


def queued(store: JobStore, job_id: str) -> Job:
    return store.insert(new_job(job_id))


def pending(q: RedisStreamQueue) -> int:
    count: int = q.redis.xpending(q.stream, GROUP)["pending"]
    return count


def test_an_announced_job_is_taken_once_and_acknowledged_after_its_outcome(
    store: JobStore, redis_server: Redis, stream: str
) -> None:
    api = queue(store, redis_server, stream, "api")
    one = queue(store, redis_server, stream, "w1")
    two = queue(store, redis_server, stream, "w2")
    one.take("w1", lease_s=30)  # the group exists before anything is announced
    api.announce([queued(store, "a").id])
    [job] = one.take("w1", lease_s=30)
    assert job.id == "a" and job.status is JobStatus.PROCESSING
    assert two.take("w2", lease_s=30) == []
    assert pending(one) == 1  # not acknowledged while the job runs
    assert store.succeed("a", "w1", [])
    one.settle(["a"])
    assert pending(one) == 0


def test_an_idle_worker_is_woken_by_an_announcement(
    store: JobStore, redis_server: Redis, stream: str
) -> None:
    api = queue(store, redis_server, stream, "api")
    worker = queue(store, redis_server, stream, "w1")
    assert worker.take("w1", lease_s=30) == []
    assert not worker.wait(0.05)
    api.announce([queued(store, "a").id])
    assert worker.wait(5)
    assert [job.id for job in worker.take("w1", lease_s=30)] == ["a"]


def test_a_dead_consumers_job_is_taken_over_after_the_lease(
    store: JobStore, redis_server: Redis, stream: str
) -> None:
    dead = queue(store, redis_server, stream, "dead")
    alive = queue(store, redis_server, stream, "alive")
    dead.take("dead", lease_s=LEASE_S)
    dead.announce([queued(store, "a").id])
    assert dead.take("dead", lease_s=LEASE_S) != []  # then it dies, unacknowledged
    assert alive.take("alive", lease_s=LEASE_S) == []
    time.sleep(LEASE_S + 0.2)
    [again] = alive.take("alive", lease_s=LEASE_S)
    assert again.id == "a" and again.attempts == 2
    assert store.succeed("a", "alive", [])
    alive.settle(["a"])
    assert pending(alive) == 0


def test_a_renewed_job_is_not_taken_over(store: JobStore, redis_server: Redis, stream: str) -> None:
    running = queue(store, redis_server, stream, "running")
    other = queue(store, redis_server, stream, "other")
    running.take("running", lease_s=LEASE_S)
    running.announce([queued(store, "a").id])
    assert running.take("running", lease_s=LEASE_S) != []
    for _ in range(4):  # the heartbeat: store lease and stream message alike
        time.sleep(LEASE_S / 2)
        store.renew_leases("running", ["a"], LEASE_S)
        running.renew(["a"])
        assert other.take("other", lease_s=LEASE_S) == []
    assert store.get("a").status is JobStatus.PROCESSING  # type: ignore[union-attr]


def test_messages_of_finished_jobs_are_acknowledged_and_skipped(
    store: JobStore, redis_server: Redis, stream: str
) -> None:
    q = queue(store, redis_server, stream, "w1")
    q.take("w1", lease_s=30)
    q.announce([queued(store, "gone").id])
    store.cancel("gone")
    assert q.take("w1", lease_s=30) == []
    assert pending(q) == 0


def test_jobs_never_announced_are_found_in_the_store(
    store: JobStore, redis_server: Redis, stream: str
) -> None:
    q = RedisStreamQueue(store, redis_server.url, stream=stream, consumer="w1", poll_interval_s=0)
    queued(store, "lost")  # committed, but the API died before announcing it
    assert [job.id for job in q.take("w1", lease_s=30)] == ["lost"]


def test_batches_are_announced_taken_and_settled_together(
    store: JobStore, redis_server: Redis, stream: str
) -> None:
    q = queue(store, redis_server, stream, "w1")
    q.take("w1", lease_s=30)
    store.insert_many([new_job(f"j{i}") for i in range(10)])
    q.announce([f"j{i}" for i in range(10)])
    first = q.take("w1", lease_s=30, limit=4)
    rest = q.take("w1", lease_s=30, limit=100)
    assert sorted(job.id for job in first + rest) == sorted(f"j{i}" for i in range(10))
    assert len(first) == 4
    assert store.succeed_many("w1", {job.id: [] for job in first + rest}) == 10
    q.settle([job.id for job in first + rest])
    assert pending(q) == 0


def test_a_job_another_worker_took_from_the_store_leaves_no_message_pending(
    store: JobStore, redis_server: Redis, stream: str
) -> None:
    """Worker b's poll of the store takes the job before worker a claims it by its
    message: a acknowledges the message (b knows none), and b's lease, not the stream,
    brings the job back if b dies."""
    a = queue(store, redis_server, stream, "a")
    a.take("a", lease_s=30)
    a.announce([queued(store, "j").id])
    assert a.wait(5)  # a has read the message
    [taken] = store.claim("b", limit=1, lease_s=30)  # b's poll of the store
    assert taken.id == "j"
    assert a.take("a", lease_s=30) == []
    assert pending(a) == 0


def test_a_redis_that_stops_answering_fails_calls_instead_of_hanging_them(
    store: JobStore, tmp_path: Path
) -> None:
    silent = Redis(tmp_path)
    pid: int = silent._server.pid
    q = RedisStreamQueue(
        store, silent.url, stream="s", consumer="w", poll_interval_s=3600, timeout_s=0.5
    )
    q.ping()
    os.kill(pid, signal.SIGSTOP)  # still listening, never answering
    try:
        with pytest.raises(redis.exceptions.TimeoutError):  # without a timeout: forever
            q.ping()
    finally:
        os.kill(pid, signal.SIGCONT)
        q.close()
        silent.stop()
