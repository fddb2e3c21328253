"""When a failed attempt runs again: exponential backoff with jitter, transient errors only."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from darkroom.jobs.failures import counts_as_attempt, is_transient
from darkroom.jobs.model import Job


def next_attempt_at(
    job: Job,
    code: str,
    *,
    base_s: float,
    max_s: float,
    now: float | None = None,
    delay_s: float | None = None,
) -> float | None:
    """The time of the next attempt, or None when the job should fail now. A failure that
    does not count as an attempt (jobs/failures.py) never ends the job. ``delay_s``: the
    wait, instead of the backoff after the job's attempts."""
    if not is_transient(code):
        return None
    if counts_as_attempt(code) and job.attempts >= job.max_attempts:
        return None
    if delay_s is None:
        delay_s = backoff_s(job.attempts, base_s=base_s, max_s=max_s)
    return (now if now is not None else time.time()) + delay_s


def backoff_s(attempts: int, *, base_s: float, max_s: float) -> float:
    """The wait after ``attempts`` failed attempts (1 or more): ``base_s``, doubled after
    each further attempt, at most ``max_s``, ±20 % jitter. Every retry in darkroom waits
    this long: jobs, webhook deliveries, effects, a dialect's queue."""
    return min(max_s, base_s * 2.0 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)


@dataclass(frozen=True)
class Backoff:
    """A retry's wait (backoff_s): ``base_s`` after the first failed attempt, doubled
    after each further one, at most ``max_s``."""

    base_s: float
    max_s: float

    def after(self, attempts: int) -> float:
        """The wait after ``attempts`` failed attempts, jittered."""
        return backoff_s(attempts, base_s=self.base_s, max_s=self.max_s)
