"""The job store on SQLite and PostgreSQL: claims, leases, and outcomes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from darkroom.jobs.model import JobFilter
from darkroom.jobs.records import SourceFactsRecord
from darkroom.jobs.status import JobStatus
from darkroom.store import JobStore, open_engine
from darkroom.store.api_keys import ApiKeyStore, Limits
from darkroom.store.job_writes import QuotaReached
from darkroom.store.tables import jobs
from tests.helpers import new_job


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> JobStore:
    if request.param == "sqlite":
        return JobStore(open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    return JobStore(open_engine(request.getfixturevalue("postgres_url")))


def test_claims_are_exclusive_and_in_order(store: JobStore) -> None:
    for i in range(5):
        store.insert(new_job(f"j{i}", 100.0 + i))
    first = store.claim("w1", limit=2, lease_s=30)
    second = store.claim("w2", limit=10, lease_s=30)
    assert [j.id for j in first] == ["j0", "j1"]
    assert [j.id for j in second] == ["j2", "j3", "j4"]
    assert all(j.status is JobStatus.PROCESSING and j.attempts == 1 for j in first + second)
    assert store.claim("w3", limit=10, lease_s=30) == []


def test_concurrent_claimers_never_share_a_job(store: JobStore) -> None:
    for i in range(120):
        store.insert(new_job(f"j{i:03}", 100.0 + i))
    taken: dict[str, list[str]] = {}

    def claim_all(worker: str) -> None:
        mine = taken.setdefault(worker, [])
        while batch := store.claim(worker, limit=3, lease_s=30):
            mine.extend(job.id for job in batch)

    threads = [threading.Thread(target=claim_all, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [job_id for ids in taken.values() for job_id in ids]
    assert sorted(claimed) == [f"j{i:03}" for i in range(120)]


def test_expired_lease_is_reclaimed_and_old_owner_loses(store: JobStore) -> None:
    store.insert(new_job("j", 1.0))
    store.claim("w1", limit=1, lease_s=0.05)
    time.sleep(0.1)
    [again] = store.claim("w2", limit=1, lease_s=30)
    assert again.id == "j" and again.attempts == 2 and again.lease_owner == "w2"
    assert store.renew_leases("w1", ["j"], 30) == set()
    assert store.succeed("j", "w1", []) is False
    assert store.succeed("j", "w2", [{"name": "x"}]) is True
    assert store.get("j").status is JobStatus.SUCCEEDED  # type: ignore[union-attr]


def test_renewed_lease_is_not_taken(store: JobStore) -> None:
    store.insert(new_job("j", 1.0))
    store.claim("w1", limit=1, lease_s=0.2)
    for _ in range(3):
        time.sleep(0.1)
        assert store.renew_leases("w1", ["j"], 0.2) == {"j"}
        assert store.claim("w2", limit=1, lease_s=30) == []


def test_fail_with_retry_then_for_good(store: JobStore) -> None:
    store.insert(new_job("j", 1.0, max_attempts=2))
    store.claim("w", limit=1, lease_s=30)
    later = time.time() + 0.2
    job = store.fail("j", "w", code="download_failed", message="boom", retry_at=later)
    assert job is not None and job.status is JobStatus.QUEUED
    assert store.claim("w", limit=1, lease_s=30) == []  # not due yet
    time.sleep(0.25)
    [job] = store.claim("w", limit=1, lease_s=30)
    assert job.attempts == 2
    job = store.fail("j", "w", code="download_failed", message="boom", retry_at=None)
    assert job is not None and job.status is JobStatus.FAILED
    assert job.error_code == "download_failed"


def test_an_attempt_not_counted_is_given_back(store: JobStore) -> None:
    """A full disk (insufficient_storage) does not use up the job's one attempt."""
    store.insert(new_job("j", 1.0, max_attempts=1))
    store.claim("w", limit=1, lease_s=30)
    job = store.fail(
        "j", "w", code="insufficient_storage", message="full", retry_at=0.0, counted=False
    )
    assert job is not None and job.status is JobStatus.QUEUED and job.attempts == 0
    [again] = store.claim("w", limit=1, lease_s=30)
    assert again.attempts == 1 and again.error_code == "insufficient_storage"


def test_lost_jobs_out_of_attempts_fail(store: JobStore) -> None:
    store.insert(new_job("j", 1.0, max_attempts=1))
    store.claim("w", limit=1, lease_s=0.01)
    time.sleep(0.05)
    assert store.claim("w2", limit=1, lease_s=30) == []
    [lost] = store.fail_lost()
    assert lost.status is JobStatus.FAILED and lost.error_code == "worker_lost"


def test_cancel_requeue_and_positions(store: JobStore) -> None:
    for i in range(3):
        store.insert(new_job(f"j{i}", 10.0 + i))
    assert store.queue_position(store.get("j2")) == 3  # type: ignore[arg-type]
    assert store.cancel("j0") is not None
    assert store.cancel("j0") is None
    assert store.queue_position(store.get("j2")) == 2  # type: ignore[arg-type]
    assert store.requeue_failed("j1") is None  # only failed jobs


def test_idempotency_key_returns_existing(store: JobStore) -> None:
    first = store.insert(new_job("a", 1.0, idempotency_key="k"))
    second = store.insert(new_job("b", 2.0, idempotency_key="k"))
    assert first.id == second.id == "a"


def test_list_by_label_and_status(store: JobStore) -> None:
    store.insert(new_job("a", 1.0, labels={"team": "x"}))
    store.insert(new_job("b", 2.0, labels={"team": "y"}))
    page = store.list_jobs(JobFilter(labels={"team": "y"}), limit=10)
    assert [j.id for j in page.jobs] == ["b"]
    page = store.list_jobs(JobFilter(status=JobStatus.QUEUED), limit=1)
    assert [j.id for j in page.jobs] == ["b"] and page.more
    last = page.jobs[-1]
    page = store.list_jobs(
        JobFilter(status=JobStatus.QUEUED), limit=1, after=(last.created_at, last.id)
    )
    assert [j.id for j in page.jobs] == ["a"] and not page.more


def test_stats(store: JobStore) -> None:
    store.insert(new_job("a", time.time() - 5))
    store.register_worker("w", "host", 1)
    stats = store.stats(worker_window_s=30)
    assert stats.jobs["queued"] == 1 and stats.queue_depth == 1
    assert stats.oldest_queued_age_s is not None and stats.oldest_queued_age_s >= 5
    assert stats.workers_alive == 1


def test_batches_insert_claim_and_succeed_together(store: JobStore) -> None:
    store.insert_many([new_job(f"b{i}", 100.0 + i) for i in range(5)])
    claimed = store.claim("w1", limit=10, lease_s=30)
    assert [j.id for j in claimed] == [f"b{i}" for i in range(5)]
    assert store.claim_named(["b0", "b1"], "w2", lease_s=30) == []  # w1 holds them
    assert store.succeed_many("w1", {j.id: [{"name": "x"}] for j in claimed}) == 5
    assert store.succeed_many("w2", {"b0": []}) == 0  # not w2's
    done = store.get("b3")
    assert done is not None and done.status is JobStatus.SUCCEEDED
    assert done.outputs == [{"name": "x"}]
    with pytest.raises(ValueError):
        store.insert_many([new_job("k", 1.0, idempotency_key="key")])


def test_an_outcome_and_the_next_claim_share_one_transaction(store: JobStore) -> None:
    for i in range(3):
        store.insert(new_job(f"n{i}", 100.0 + i))
    [first] = store.claim("w1", limit=1, lease_s=30)
    facts: list[SourceFactsRecord] = [
        {
            "format": "jpeg",
            "width": 4,
            "height": 3,
            "orientation": 1,
            "has_icc_profile": False,
            "frames": 1,
            "bytes": 10,
            "sha256": "ab" * 32,
        }
    ]
    done, claimed = store.succeed_and_claim(first.id, "w1", [], facts, lease_s=30)
    assert done and [j.id for j in claimed] == ["n1"]
    assert claimed[0].status is JobStatus.PROCESSING and claimed[0].lease_owner == "w1"
    stored = store.get("n0")
    assert stored is not None and stored.status is JobStatus.SUCCEEDED
    assert stored.outputs == [] and stored.source_facts == facts
    with store.engine.connect() as conn:
        digest = conn.execute(select(jobs.c.source_sha256).where(jobs.c.id == "n0")).scalar()
    assert digest == "ab" * 32
    # a job no longer this worker's keeps its state; the next one is claimed all the same
    done, claimed = store.succeed_and_claim("n0", "w1", [], lease_s=30)
    assert not done and [j.id for j in claimed] == ["n2"]
    done, claimed = store.succeed_and_claim("n2", "w1", [], lease_s=30)
    assert done and claimed == []


def test_many_jobs_are_read_at_once_by_id(store: JobStore) -> None:
    ids = [f"m{i:04}" for i in range(1200)]  # more than one query's worth of ids
    store.insert_many([new_job(job_id, 100.0 + i) for i, job_id in enumerate(ids)])
    [claimed] = store.claim("w1", limit=1, lease_s=30)
    found = store.get_many([*ids, "missing", ids[0]])
    assert sorted(found) == ids  # each job once; ids that name none are left out
    assert found[claimed.id] == store.get(claimed.id)  # whole jobs, as get reads them
    assert found[claimed.id].status is JobStatus.PROCESSING
    assert found[ids[-1]].status is JobStatus.QUEUED
    assert store.get_many([]) == {}


def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    """Reads begin deferred: under WAL they see the last commit while a write is open."""
    store = JobStore(open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    store.insert(new_job("j", 1.0))
    read: list[object] = []
    with store.engine.begin() as writer:  # BEGIN IMMEDIATE: holds the write lock
        writer.exec_driver_sql("UPDATE jobs SET progress = 50")
        reader = threading.Thread(target=lambda: read.append(store.get("j")))
        reader.start()
        reader.join(10)
        assert not reader.is_alive()
    [job] = read
    assert job is not None and job.progress == 0  # type: ignore[attr-defined]
    assert store.get("j").progress == 50  # type: ignore[union-attr]


def test_a_quota_of_queued_jobs_holds_for_inserts_at_once(store: JobStore) -> None:
    key, _ = ApiKeyStore(store.engine).create("capped", limits=Limits(max_queued=3))
    refused: list[str] = []

    def insert(i: int) -> None:
        try:
            store.insert(new_job(f"j{i:02}", 100.0 + i, owner=key.id), max_queued=3)
        except QuotaReached:
            refused.append(f"j{i:02}")

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refused) == 9
    kept = store.claim("w", limit=20, lease_s=30)
    assert len(kept) == 3 and {job.owner for job in kept} == {key.id}
    # a job leaving the queue makes room; another owner's jobs never counted
    store.insert(new_job("other", 1.0, owner=None), max_queued=3)
    store.insert(new_job("next", 1.0, owner=key.id), max_queued=3)
