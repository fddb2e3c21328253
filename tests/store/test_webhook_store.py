"""Webhook deliveries in the store, on SQLite and PostgreSQL: scheduled with the job's
outcome, claimed by one sender at a time, recorded only by their claimer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from darkroom.store import JobStore, open_engine
from darkroom.store.webhooks import WebhookStore
from tests.helpers import new_job

HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[JobStore, WebhookStore]:
    if request.param == "sqlite":
        engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    else:
        engine = open_engine(request.getfixturevalue("postgres_url"))
    return JobStore(engine), WebhookStore(engine)


def _finish(jobs: JobStore, job_id: str, *, ok: bool) -> None:
    [job] = jobs.claim_named([job_id], "w", lease_s=30)
    if ok:
        assert jobs.succeed(job.id, "w", [])
    else:
        assert jobs.fail(job.id, "w", code="corrupt_image", message="bad", retry_at=None)


def test_outcomes_schedule_deliveries_for_jobs_with_webhooks(
    stores: tuple[JobStore, WebhookStore],
) -> None:
    jobs, hooks = stores
    for job_id in ("ok", "bad", "quiet", "retried"):
        jobs.insert(new_job(job_id, webhook_url=None if job_id == "quiet" else HOOK))
    _finish(jobs, "ok", ok=True)
    _finish(jobs, "bad", ok=False)
    _finish(jobs, "quiet", ok=True)
    assert jobs.claim_named(["retried"], "w", lease_s=30)
    jobs.fail("retried", "w", code="download_failed", message="x", retry_at=time.time() + 60)
    due = hooks.get_many(["ok", "bad", "quiet", "retried"])
    assert {k: (d.event, d.state, d.attempts) for k, d in due.items()} == {
        "ok": ("job.succeeded", "pending", 0),
        "bad": ("job.failed", "pending", 0),
    }
    # run again after failing: a new delivery, with a new message id, replaces the old one
    first_id = due["bad"].message_id
    assert jobs.requeue_failed("bad") is not None
    _finish(jobs, "bad", ok=True)
    again = hooks.get("bad")
    assert again is not None and again.event == "job.succeeded"
    assert again.message_id != first_id


def test_claims_are_exclusive_and_only_the_claimer_records(
    stores: tuple[JobStore, WebhookStore],
) -> None:
    jobs, hooks = stores
    for i in range(5):
        jobs.insert(new_job(f"j{i}", webhook_url=HOOK))
        _finish(jobs, f"j{i}", ok=True)
    first = hooks.claim_due("s1", limit=3, lease_s=30)
    second = hooks.claim_due("s2", limit=10, lease_s=30)
    assert len(first) == 3 and len(second) == 2
    assert not {d.job_id for d in first} & {d.job_id for d in second}
    assert hooks.claim_due("s3", limit=10, lease_s=30) == []

    mine, theirs = first[0], second[0]
    hooks.record_attempt(theirs, "s1", status_code=200, error=None, retry_at=None)  # not s1's
    assert hooks.get(theirs.job_id).state == "pending"  # type: ignore[union-attr]
    hooks.record_attempt(mine, "s1", status_code=500, error="answered 500", retry_at=time.time())
    retried = hooks.get(mine.job_id)
    assert retried is not None
    assert (retried.state, retried.attempts, retried.last_status_code) == ("pending", 1, 500)
    [taken] = [d for d in hooks.claim_due("s3", limit=10, lease_s=30) if d.job_id == mine.job_id]
    hooks.record_attempt(taken, "s3", status_code=204, error=None, retry_at=None)
    done = hooks.get(mine.job_id)
    assert done is not None and (done.state, done.attempts) == ("delivered", 2)
    assert done.delivered_at is not None and done.last_error is None


def test_a_dead_senders_lease_runs_out(stores: tuple[JobStore, WebhookStore]) -> None:
    jobs, hooks = stores
    jobs.insert(new_job("j", webhook_url=HOOK))
    _finish(jobs, "j", ok=True)
    [claimed] = hooks.claim_due("dead", limit=1, lease_s=0.05)
    time.sleep(0.1)
    [again] = hooks.claim_due("alive", limit=1, lease_s=30)
    assert again.job_id == claimed.job_id and again.message_id == claimed.message_id
    assert hooks.redeliver("j") is None  # being sent by "alive": not reset under it
    hooks.record_attempt(again, "alive", status_code=None, error="timed out", retry_at=None)
    failed = hooks.get("j")
    assert failed is not None and failed.state == "failed"
    reset = hooks.redeliver("j")
    assert reset is not None
    assert (reset.state, reset.attempts, reset.message_id) == ("pending", 0, claimed.message_id)
