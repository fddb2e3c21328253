from __future__ import annotations

from darkroom.jobs.model import Job
from darkroom.jobs.retry import next_attempt_at
from darkroom.jobs.status import JobStatus


def job(attempts: int, max_attempts: int = 4) -> Job:
    return Job(
        id="j",
        status=JobStatus.PROCESSING,
        created_at=0,
        updated_at=0,
        available_at=0,
        spec={},
        sources=[],
        attempts=attempts,
        max_attempts=max_attempts,
    )


def test_backoff_doubles_with_jitter() -> None:
    delays = [
        next_attempt_at(job(n), "download_failed", base_s=2, max_s=100, now=0) for n in (1, 2, 3)
    ]
    assert all(d is not None for d in delays)
    assert 1.6 <= delays[0] <= 2.4  # type: ignore[operator]
    assert 3.2 <= delays[1] <= 4.8  # type: ignore[operator]
    assert 6.4 <= delays[2] <= 9.6  # type: ignore[operator]


def test_backoff_is_capped() -> None:
    delay = next_attempt_at(job(3, 10), "timeout", base_s=50, max_s=60, now=0)
    assert delay is not None and delay <= 72


def test_permanent_errors_and_exhausted_attempts_fail_now() -> None:
    assert next_attempt_at(job(1), "corrupt_image", base_s=1, max_s=10) is None
    assert next_attempt_at(job(4, 4), "download_failed", base_s=1, max_s=10) is None


def test_a_full_disk_never_ends_a_job_and_waits_as_told() -> None:
    """insufficient_storage gives its attempt back: even the last one is tried again,
    after the wait the worker chose (its own pause)."""
    assert next_attempt_at(job(4, 4), "insufficient_storage", base_s=1, max_s=10, now=0) is not None
    at = next_attempt_at(job(1), "insufficient_storage", base_s=1, max_s=10, now=100, delay_s=7)
    assert at == 107
