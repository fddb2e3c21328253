"""Effects: what a finished job's outcome must still cause, besides its webhook, in a
system darkroom stands in for (a drop-in dialect marking its record COMPLETED, storing a
listing image under its final name). A job names its effects when it is submitted; each
is written as an outbox row with the outcome and carried out at least once, by a handler
that must leave the same result when run twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from darkroom.jobs.model import Job


@dataclass(frozen=True)
class Effect:
    job_id: str
    effect: str  # the handler's name
    status: str  # the outcome it follows: succeeded, failed or canceled
    state: str  # pending, delivered (done) or failed
    attempts: int
    next_attempt_at: float | None
    last_error: str | None
    created_at: float
    last_attempt_at: float | None
    done_at: float | None


class EffectFailed(Exception):
    """An effect could not be carried out; ``permanent``: trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


# Carries out one effect for a finished job; raises EffectFailed (or anything: retried).
EffectHandler = Callable[[Job], None]
