"""One reader of job states per API process, for every open event stream.

While any stream (GET /v1/jobs/{id}/events) is open, one task on the event loop reads
the state (status, progress, attempts, expiry) of every watched job in one query per
tick (DARKROOM_EVENTS_POLL_S; a query per 500 jobs), then the whole rows of the jobs
that moved, and wakes the streams watching those; between changes a stream sleeps until
its keep-alive comes due. 300 open streams so cost four small reads a second, not 1,200
reads and thread hops (docs/performance.md). It reads the stored rows, so a stream still
follows a job run by any worker through any API process.

The same reader serves requests that wait for a job to end (POST /v1/jobs with `Prefer:
wait`, GET /v1/jobs/{id}?wait=): ``until_finished``. They hear of the end when it is
committed, not at the next tick (store/job_ends.py): on PostgreSQL by the NOTIFY of the
transaction that ended the job, in whichever process; on SQLite by the database's commit
counter, looked at when the write-ahead log is written (while a request waits). The watch
then reads the whole rows of the jobs concerned at once; the tick stays the fallback. A
stream also hears of its job's end at once on PostgreSQL; its progress still comes by tick.

The reads run on a worker thread; what they found is handed over on the event loop,
where the streams wait, so no stream state is shared across threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from functools import partial
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from darkroom.jobs.model import Job
from darkroom.store.job_reads import JobState

log = logging.getLogger("darkroom.api")


class JobReader(Protocol):
    """What the watch reads (the job store)."""

    def job_states(self, job_ids: Sequence[str]) -> dict[str, JobState]: ...

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]: ...


class JobEnds(Protocol):
    """News of jobs that ended (store/job_ends.py). ``precise``: each piece of news names
    the jobs (a frozenset of ids); otherwise it is None, "some job may have ended"."""

    precise: bool

    def ended(self) -> AsyncIterator[frozenset[str] | None]: ...


RELISTEN_AFTER_S = 5.0  # news that failed is listened to again after this long


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
    """Started and stopped by the app's lifespan; streams take a Watcher with ``watch``,
    requests that wait for a job's end call ``until_finished``."""

    def __init__(self, reader: JobReader, poll_s: float, news: JobEnds | None = None) -> None:
        self._reader = reader
        self.poll_s = poll_s
        self._news = news
        self._watchers: dict[str, set[Watcher]] = {}  # job id -> the streams on it
        self._wanted: asyncio.Event | None = None  # set while any stream is open
        self._tasks: list[asyncio.Task[None]] = []
        self._failing = False  # the last read failed (logged once until one succeeds)
        self._awaited: dict[str, int] = {}  # job id -> requests in until_finished on it
        self._someone_awaits = asyncio.Event()  # set while _awaited is not empty
        self._heard: set[str] = set()  # jobs to read before the next tick
        self._news_came = asyncio.Event()  # set while _heard is not empty

    @property
    def streams(self) -> int:
        """How many streams (and waiting requests) are watching a job now."""
        return sum(len(group) for group in self._watchers.values())

    def start(self) -> None:
        """Start the reader on the running event loop; it reads only while streams are open."""
        self._wanted = asyncio.Event()
        if self._watchers:
            self._wanted.set()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run(), name="job-watch")]
        if self._news is not None:
            self._tasks.append(loop.create_task(self._listen(self._news), name="job-ends"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

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

    async def until_finished(self, job: Job, timeout_s: float) -> Job | None:
        """``job`` (as just read) once it has finished, or as it is when ``timeout_s`` ran
        out; None when it is gone (deleted, or expired)."""
        if job.status.finished:
            return job
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        with self.watch(job) as watcher, self._awaiting(job.id):
            self._hear(frozenset((job.id,)))  # it may have ended since it was read
            while watcher.job is not None and not watcher.job.status.finished:
                left = deadline - loop.time()
                if left <= 0 or not await watcher.changed(left):
                    break
            return watcher.job

    @contextlib.contextmanager
    def _awaiting(self, job_id: str) -> Iterator[None]:
        self._awaited[job_id] = self._awaited.get(job_id, 0) + 1
        self._someone_awaits.set()
        try:
            yield
        finally:
            self._awaited[job_id] -= 1
            if not self._awaited[job_id]:
                del self._awaited[job_id]
            if not self._awaited:
                self._someone_awaits.clear()

    async def _run(self) -> None:
        assert self._wanted is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wanted.wait()
            self._take_heard()  # this tick reads them all
            await self.tick()
            next_tick = loop.time() + self.poll_s
            while (left := next_tick - loop.time()) > 0:
                try:
                    async with asyncio.timeout(left):
                        await self._news_came.wait()
                except TimeoutError:
                    break
                await self.tick(self._take_heard())

    def _hear(self, ended: frozenset[str] | None) -> None:
        """News that these jobs ended (None: some job may have): read those watched now;
        on news that names none, those that requests wait on (the streams make do with
        the tick)."""
        watched = self._awaited.keys() if ended is None else ended & self._watchers.keys()
        if watched:
            self._heard.update(watched)
            self._news_came.set()

    def _take_heard(self) -> list[str]:
        ids = list(self._heard)
        self._heard.clear()
        self._news_came.clear()
        return ids

    async def _listen(self, news: JobEnds) -> None:
        """Hear the news for as long as the watch runs; news that names no job (every
        commit, on SQLite) only while a request waits for a job's end."""
        failing = False  # logged once until news is heard again
        while True:
            try:
                async for ended in news.ended():
                    failing = False
                    self._hear(ended)
                    if not news.precise and not self._awaited:
                        await self._someone_awaits.wait()
            except Exception:
                if not failing:
                    log.warning(
                        "cannot hear of ended jobs; reading them every %g s meanwhile",
                        self.poll_s,
                        exc_info=True,
                    )
                failing = True
            await asyncio.sleep(RELISTEN_AFTER_S)

    async def tick(self, job_ids: Sequence[str] | None = None) -> None:
        """Read the state of every watched job once, then the jobs that moved, and wake
        their streams. With ``job_ids`` (jobs heard to have ended), the whole rows of
        those still watched at once."""
        read: Callable[[], tuple[list[str], dict[str, Job]]]
        if job_ids is None:
            seen = {job_id: {w.state for w in group} for job_id, group in self._watchers.items()}
            if not seen:
                return
            read = partial(self._read_moved, seen)
        else:
            ids = [job_id for job_id in job_ids if job_id in self._watchers]
            if not ids:
                return
            read = partial(self._read_rows, ids)
        try:
            rows_of, found = await run_in_threadpool(read)
        except Exception:
            if not self._failing:
                log.warning("cannot read the jobs of open event streams", exc_info=True)
            self._failing = True
            return
        if self._failing:
            log.info("reading the jobs of open event streams again")
            self._failing = False
        for job_id in rows_of:
            for watcher in list(self._watchers.get(job_id, ())):
                watcher.offer(found.get(job_id))

    def _read_moved(self, seen: dict[str, set[JobState]]) -> tuple[list[str], dict[str, Job]]:
        """On a worker thread: the jobs that moved since their watchers' ``seen`` states
        (gone, or in another state), and the whole rows of those that still exist."""
        states = self._reader.job_states(list(seen))
        moved = [
            job_id
            for job_id, known in seen.items()
            if (state := states.get(job_id)) is None or state.expired or known != {state}
        ]
        live = [job_id for job_id in moved if job_id in states and not states[job_id].expired]
        return moved, self._reader.get_many(live) if live else {}

    def _read_rows(self, job_ids: list[str]) -> tuple[list[str], dict[str, Job]]:
        """On a worker thread: the whole rows of these jobs, those that still exist."""
        return job_ids, self._reader.get_many(job_ids)
