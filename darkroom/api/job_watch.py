"""One reader of job states per API process, for every open event stream.

While any stream (GET /v1/jobs/{id}/events) is open, one task on the event loop reads
the state (status, progress, attempts, expiry) of every watched job in one query per
tick (DARKROOM_EVENTS_POLL_S; a query per 500 jobs), then the whole rows of the jobs
that moved, and wakes the streams watching those; between changes a stream sleeps until
its keep-alive comes due. 300 open streams so cost four small reads a second, not 1,200
reads and thread hops (docs/performance.md). It reads the stored rows, so a stream still
follows a job run by any worker through any API process.

The reads run on a worker thread; what they found is handed over on the event loop,
where the streams wait, so no stream state is shared across threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from darkroom.jobs.model import Job
from darkroom.store.job_reads import JobState

log = logging.getLogger("darkroom.api")


class JobReader(Protocol):
    """What the watch reads (the job store)."""

    def job_states(self, job_ids: Sequence[str]) -> dict[str, JobState]: ...

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]: ...


class Watcher:
    """One stream's view of its job: the newest state read, and a wake-up when it changes.
    ``job`` is None once the job is gone (deleted, or expired)."""

    def __init__(self, job: Job) -> None:
        self.job: Job | None = job
        self.state = JobState.of(job)
        self._changed = asyncio.Event()

    async def changed(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the job to change: True when it did (``job`` is
        then the newest read), False when the time ran out first."""
        if not self._changed.is_set():
            try:
                async with asyncio.timeout(timeout_s):
                    await self._changed.wait()
            except TimeoutError:
                return False
        self._changed.clear()
        return True

    def offer(self, job: Job | None) -> None:
        """The watch read ``job`` (None: gone): wake the stream if it moved."""
        if job is not None and job.expired_at is not None:
            job = None  # expired: gone, as GET /v1/jobs/{id} would say
        if job is not None and JobState.of(job) == self.state:
            return
        self.job = job
        if job is not None:
            self.state = JobState.of(job)
        self._changed.set()


class JobWatch:
    """Started and stopped by the app's lifespan; streams take a Watcher with ``watch``."""

    def __init__(self, reader: JobReader, poll_s: float) -> None:
        self._reader = reader
        self.poll_s = poll_s
        self._watchers: dict[str, set[Watcher]] = {}  # job id -> the streams on it
        self._wanted: asyncio.Event | None = None  # set while any stream is open
        self._task: asyncio.Task[None] | None = None
        self._failing = False  # the last read failed (logged once until one succeeds)

    @property
    def streams(self) -> int:
        """How many streams are watching a job now."""
        return sum(len(group) for group in self._watchers.values())

    def start(self) -> None:
        """Start the reader on the running event loop; it reads only while streams are open."""
        self._wanted = asyncio.Event()
        if self._watchers:
            self._wanted.set()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="job-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.contextmanager
    def watch(self, job: Job) -> Iterator[Watcher]:
        """A Watcher of ``job`` (as just read) for as long as the block runs."""
        watcher = Watcher(job)
        self._watchers.setdefault(job.id, set()).add(watcher)
        if self._wanted is not None:
            self._wanted.set()
        try:
            yield watcher
        finally:
            group = self._watchers.get(job.id)
            if group is not None:
                group.discard(watcher)
                if not group:
                    del self._watchers[job.id]
            if not self._watchers and self._wanted is not None:
                self._wanted.clear()

    async def _run(self) -> None:
        assert self._wanted is not None
        while True:
            await self._wanted.wait()
            await self.tick()
            await asyncio.sleep(self.poll_s)

    async def tick(self) -> None:
        """Read the state of every watched job once, then the jobs that moved, and wake
        their streams."""
        ids = list(self._watchers)
        if not ids:
            return
        try:
            states = await run_in_threadpool(self._reader.job_states, ids)
            moved = [job_id for job_id in ids if self._moved(job_id, states.get(job_id))]
            live = [job_id for job_id in moved if job_id in states and not states[job_id].expired]
            found = await run_in_threadpool(self._reader.get_many, live) if live else {}
        except Exception:
            if not self._failing:
                log.warning("cannot read the jobs of open event streams", exc_info=True)
            self._failing = True
            return
        if self._failing:
            log.info("reading the jobs of open event streams again")
            self._failing = False
        for job_id in moved:
            for watcher in list(self._watchers.get(job_id, ())):
                watcher.offer(found.get(job_id))

    def _moved(self, job_id: str, state: JobState | None) -> bool:
        """The job is gone, or a stream on it last saw another state."""
        if state is None or state.expired:
            return True
        return any(watcher.state != state for watcher in self._watchers.get(job_id, ()))
