"""When a failed attempt runs again: exponential backoff with jitter, transient errors only."""

from __future__ import annotations

import random
import time

from darkroom.jobs.errors import TRANSIENT_CODES
from darkroom.jobs.model import Job


def next_attempt_at(
    job: Job, code: str, *, base_s: float, max_s: float, now: float | None = None
) -> float | None:
    """The time of the next attempt, or None when the job should fail now."""
    if code not in TRANSIENT_CODES or job.attempts >= job.max_attempts:
        return None
    delay: float = min(max_s, base_s * 2.0 ** max(0, job.attempts - 1))
    delay *= random.uniform(0.8, 1.2)
    return (now if now is not None else time.time()) + delay
