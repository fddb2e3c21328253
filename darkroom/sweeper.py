"""Retention: deletes the artifacts of jobs whose retention ran out, then their records'
content. Runs in every darkroom process beside the webhook sender; two sweepers meeting
on one job do the same idempotent work."""

from __future__ import annotations

import logging

from darkroom.blobs import BlobStore
from darkroom.jobs import keys
from darkroom.periodic import Periodic
from darkroom.store import JobStore

log = logging.getLogger("darkroom.retention")

BATCH = 100
# An upload staged this long ago was left by a process that died while receiving it: a
# live one moves or deletes its staged files within the request.
STAGED_MAX_AGE_S = 3600.0


class RetentionSweeper:
    def __init__(self, store: JobStore, blobs: BlobStore, *, interval_s: float) -> None:
        self.store = store
        self.blobs = blobs
        self.loop = Periodic("retention", interval_s, self.sweep)

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop(30)

    def sweep(self) -> int:
        """Expire every job that is due; returns how many. Also deletes uploads staged
        by a process that died while receiving them."""
        if removed := self.blobs.remove_stale_staged(STAGED_MAX_AGE_S):
            log.info("stale staged uploads deleted", extra={"count": removed})
        expired = 0
        while not self.loop.stopping.is_set():
            due = self.store.due_to_expire(limit=BATCH)
            for job_id in due:
                self.blobs.delete_prefix(keys.job_prefix(job_id))
                if self.store.expire(job_id):
                    expired += 1
                    log.info("job expired", extra={"job_id": job_id})
            if len(due) < BATCH:
                break
        return expired
