"""When to ask again while waiting for a job to finish.

Each request asks the API to hold its answer until the job ends (``?wait=N``, at most a
minute), so a finished job is seen at once without polling. An API that does not hold it
(one older than the parameter) answers at once; the loop then pauses briefly between
requests, a little longer each time, as plain polling would."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from darkroom.client.errors import WaitTimeout
from darkroom.client.requests import PREFER_WAIT_MAX_S, wait_param

if TYPE_CHECKING:
    from darkroom.client.models import Job

POLL_FIRST_S = 0.1
POLL_MAX_S = 1.0


class WaitLoop:
    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self.deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._poll_s = POLL_FIRST_S
        self._asked_s = 0
        self._sent_at = 0.0

    def remaining_s(self) -> float:
        if self.deadline is None:
            return float(PREFER_WAIT_MAX_S)
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def ask_s(self) -> int:
        """The ``wait`` to ask of the next request (whole seconds, rounded up)."""
        self._asked_s = wait_param(self.remaining_s())
        self._sent_at = time.monotonic()
        return self._asked_s

    def pause_s(self) -> float:
        """Seconds to sleep after an answer that found the job unfinished: none when the
        API held the answer as asked, a short and growing pause when it answered at once."""
        if time.monotonic() - self._sent_at >= self._asked_s / 2:
            self._poll_s = POLL_FIRST_S
            return 0.0
        pause = min(self._poll_s, self.remaining_s())
        self._poll_s = min(self._poll_s * 2, POLL_MAX_S)
        return pause

    def next_ask_s(self, job: Job, *, raise_on_timeout: bool) -> int | None:
        """The ``wait`` to ask of the next request for ``job``; None once the job has
        finished or the time has run out (WaitTimeout then, with ``raise_on_timeout``)."""
        if job.finished:
            return None
        if self.expired():
            if raise_on_timeout:
                raise WaitTimeout(job, self.timeout_s or 0)
            return None
        return self.ask_s()
