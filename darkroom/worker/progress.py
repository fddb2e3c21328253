"""What an attempt learns as it goes (progress, source facts), written at a bounded rate."""

from __future__ import annotations

import time

from darkroom.jobs.records import SourceFactsRecord
from darkroom.store import JobStore

MIN_WRITE_INTERVAL_S = 0.5


class AttemptReport:
    """Buffers progress and facts; writes them at most every ``min_interval_s`` so that short
    jobs cost no extra transactions and long ones still show movement."""

    def __init__(
        self,
        store: JobStore,
        job_id: str,
        worker_id: str,
        *,
        min_interval_s: float = MIN_WRITE_INTERVAL_S,
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.worker_id = worker_id
        self.min_interval_s = min_interval_s
        self.facts: list[SourceFactsRecord] | None = None
        self._progress = 0
        self._facts_written = False
        self._last_write = time.monotonic()

    def record_facts(self, facts: list[SourceFactsRecord]) -> None:
        self.facts = list(facts)
        self._facts_written = False
        self._maybe_write()

    def record_progress(self, progress: int) -> None:
        self._progress = max(self._progress, progress)
        self._maybe_write()

    def _maybe_write(self) -> None:
        now = time.monotonic()
        if now - self._last_write < self.min_interval_s:
            return
        self._last_write = now
        facts = None if self._facts_written else self.facts
        self.store.record_progress(self.job_id, self.worker_id, self._progress, facts)
        self._facts_written = True
