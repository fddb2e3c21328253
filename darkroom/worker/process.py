"""The loop one worker process runs: claim a job, keep its lease alive, run it, record it."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from darkroom import imaging, metrics, tracing
from darkroom.blobs import BlobNotFound, BlobStore
from darkroom.compose import build_worker
from darkroom.config import Settings
from darkroom.imaging.runtime import configure_for_worker
from darkroom.jobs import keys
from darkroom.jobs.failures import FailureCode, counts_as_attempt
from darkroom.jobs.model import Job
from darkroom.jobs.records import SourceFactsRecord
from darkroom.jobs.retry import Backoff, next_attempt_at
from darkroom.jobs.space import out_of_space
from darkroom.jobs.status import JobStatus
from darkroom.logs import configure, request_context
from darkroom.outbound import AllowList, OutboundGuard, outbound_client
from darkroom.queue import JobQueue
from darkroom.slices import (
    download_limits,
    image_limits,
    job_backoff,
    lease_settings,
    yolo_settings,
)
from darkroom.smart import Analyzer
from darkroom.smart.detectors import open_detector
from darkroom.smart.yolo import YoloSettings
from darkroom.store import JobStore
from darkroom.worker.execute import PairDefaults, SourceLoader, execute
from darkroom.worker.fetch import DownloadLimits, FetchError
from darkroom.worker.leases import LeaseSettings
from darkroom.worker.progress import AttemptReport
from darkroom.worker.wake import PipeDoorbell

log = logging.getLogger("darkroom.worker")

MAINTENANCE_EVERY_S = 15.0


STOP_CHECK_S = 0.1  # an idle worker notices a stop request within this time


@dataclass
class WorkerSignals:
    """What a worker process shares with whoever started it.

    ``wake`` is the read end of a pipe the supervising process writes to when a job is
    submitted (see wake.py); ``busy_since`` a shared float holding the start time of the
    running job, 0 when idle. A pipe and plain shared memory, no locks: a signal handler
    or a dying process can never leave one held. ``stop_requested`` is set by the
    SIGTERM handler and read by the loop.
    """

    wake: Connection | None = None
    busy_since: Any = None
    stop_requested: bool = False


def failure_of(exc: Exception) -> tuple[str, str]:
    """The error code and message recorded for an exception raised by an attempt."""
    if isinstance(exc, imaging.ImageError):
        return exc.code, str(exc)
    if isinstance(exc, FetchError):
        return exc.code, exc.message
    if isinstance(exc, BlobNotFound):
        return FailureCode.SOURCE_UNAVAILABLE, f"the stored source is gone: {exc}"
    if out_of_space(exc):
        return FailureCode.INSUFFICIENT_STORAGE, f"no space left to store the results: {exc}"
    if isinstance(exc, MemoryError):
        return FailureCode.OUT_OF_MEMORY, "the image needed more memory than was available"
    if isinstance(exc, OSError):
        return FailureCode.STORAGE_ERROR, str(exc)
    return FailureCode.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"


def record_failure(
    store: JobStore,
    backoff: Backoff,
    job: Job,
    worker_id: str,
    code: str,
    message: str,
    *,
    started: float | None = None,
    facts: list[SourceFactsRecord] | None = None,
    delay_s: float | None = None,
) -> Job | None:
    """``delay_s``: the wait before a retry, instead of the backoff after the job's
    attempts."""
    retry_at = next_attempt_at(
        job, code, base_s=backoff.base_s, max_s=backoff.max_s, delay_s=delay_s
    )
    updated = store.fail(
        job.id,
        worker_id,
        code=code,
        message=message,
        retry_at=retry_at,
        facts=facts,
        counted=counts_as_attempt(code),
    )
    if updated is None:
        return None
    context: dict[str, object] = {"job_id": job.id, "error_code": code, "attempt": job.attempts}
    if started is not None:
        context["duration_s"] = round(time.time() - started, 3)
    metrics.job_finished(
        "failed" if retry_at is None else "retrying",
        code,
        time.time() - started if started is not None else None,
    )
    if retry_at is None:
        log.warning("job failed", extra=context)
    else:
        context["retry_in_s"] = round(retry_at - time.time(), 2)
        log.info("job retry scheduled", extra=context)
    return updated


class Worker:
    def __init__(
        self,
        worker_id: str,
        store: JobStore,
        blobs: BlobStore,
        queue: JobQueue,
        signals: WorkerSignals,
        *,
        leases: LeaseSettings,
        backoff: Backoff,
        guard: OutboundGuard,
        input_root: Path | None,
        downloads: DownloadLimits,
        limits: imaging.Limits,
        yolo: YoloSettings | None,
        pair_defaults: PairDefaults,
        watermarks: dict[str, Path] | None = None,
    ) -> None:
        """``guard``, ``input_root`` and ``downloads``: where and how sources are read;
        ``watermarks``: the configured watermarks' files by name;
        ``limits``, ``yolo`` and ``pair_defaults``: how images are made."""
        self.worker_id = worker_id
        self.store = store
        self.blobs = blobs
        self.queue = queue
        self.signals = signals
        self.leases = leases
        self.backoff = backoff
        self.limits = limits
        self.http = outbound_client()
        self.loader = SourceLoader(
            blobs=blobs,
            http=self.http,
            guard=guard,
            input_root=input_root,
            downloads=downloads,
            watermarks=watermarks or {},
        )
        # loads its models once: the face model on first use, the object detector at start
        self.analyzer = Analyzer(partial(open_detector, yolo) if yolo is not None else None)
        self.pair_defaults = pair_defaults
        self._current: str | None = None
        self._lock = threading.Lock()
        self._finished = threading.Event()  # the loop has ended; set after stop is honoured
        self._doorbells = (
            [PipeDoorbell(signals.wake, on_hangup=self._supervisor_gone)]
            if signals.wake is not None
            else []
        )
        # A full disk (jobs/space.py): writes refused for want of space in a row, and when
        # this worker tries again (time.monotonic()). It waits instead of exiting, which
        # would only have it restarted to fail the same way.
        self._short_of_space = 0
        self._resume_at = 0.0

    def run(self) -> None:
        self.analyzer.detector()  # a configured model is loaded before the first job
        self._register()
        beat = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
        beat.start()
        log.info("worker started", extra={"worker_id": self.worker_id})
        # jobs claimed with the last outcome (succeed_and_claim): this worker's already, so
        # run even when a stop is asked for meanwhile
        claimed: list[Job] = []
        try:
            while claimed or not self.signals.stop_requested:
                if not claimed and time.monotonic() < self._resume_at:
                    self._wait_for_space()
                    continue
                taken, claimed = claimed, []
                if not taken:
                    try:
                        taken = self.queue.take(self.worker_id, lease_s=self.leases.lease_s)
                    except Exception as exc:
                        if out_of_space(exc):
                            self._short_of_space_for("taking work", exc)
                            continue
                        log.exception("taking work failed; trying again")
                        taken = []
                if not taken:
                    self._idle()
                    continue
                try:
                    with (
                        request_context(taken[0].spec.get("request_id")),
                        tracing.span(
                            "darkroom.job.attempt",
                            parent=taken[0].spec.get("traceparent"),
                            job_id=taken[0].id,
                            attempt=taken[0].attempts,
                            worker_id=self.worker_id,
                        ),
                    ):
                        claimed = self._run_one(taken[0])
                except Exception as exc:
                    if not out_of_space(exc):
                        raise
                    # the outcome is not stored: the job's lease runs out and it is taken
                    # again (that attempt counts, as for a worker that vanished)
                    self._short_of_space_for("recording a job's outcome", exc, taken[0].id)
        finally:
            self._finished.set()
            beat.join(timeout=5)
            self.queue.close()
            self.store.unregister_worker(self.worker_id)
            self.http.close()
            log.info("worker stopped", extra={"worker_id": self.worker_id})

    def _supervisor_gone(self) -> None:
        """The process that started this worker is gone: stop, as it would have asked."""
        if not self.signals.stop_requested:
            log.warning(
                "the supervising process is gone; stopping", extra={"worker_id": self.worker_id}
            )
            self.signals.stop_requested = True

    def _register(self) -> None:
        """Register this worker, waiting while there is no space to (until asked to stop)."""
        while not self.signals.stop_requested:
            try:
                self.store.register_worker(self.worker_id, socket.gethostname(), os.getpid())
                return
            except Exception as exc:
                if not out_of_space(exc):
                    raise
                self._short_of_space_for("registering the worker", exc)
                self._wait_for_space()

    def _short_of_space_for(
        self, doing: str, exc: BaseException, job_id: str | None = None
    ) -> float:
        """A write refused for want of space: pause taking work for the job backoff after
        as many such refusals in a row; return the pause."""
        self._short_of_space += 1
        pause = self.backoff.after(self._short_of_space)
        self._resume_at = time.monotonic() + pause
        context: dict[str, object] = {"doing": doing, "error": str(exc)}
        if job_id is not None:
            context["job_id"] = job_id
        context["retry_in_s"] = round(pause, 2)
        log.warning("no space left to store; waiting", extra=context)
        return pause

    def _wait_for_space(self) -> None:
        """Wait until the pause ends, ending early on a stop request."""
        while not self.signals.stop_requested:
            left = self._resume_at - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, STOP_CHECK_S))

    def _idle(self) -> None:
        """Wait up to a poll interval, ending early on a stop request or news of work."""
        deadline = time.monotonic() + self.leases.poll_interval_s
        while not self.signals.stop_requested:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                if self.queue.wait(min(left, STOP_CHECK_S), self._doorbells):
                    return
            except Exception:
                log.exception("waiting for work failed")
                time.sleep(min(left, STOP_CHECK_S))

    def _run_one(self, job: Job) -> list[Job]:
        """Run ``job`` and store its outcome; return the jobs claimed with it (the next one,
        when the queue is the store and this worker goes on)."""
        started = time.time()
        claimed: list[Job] = []
        with self._lock:
            self._current = job.id
        if self.signals.busy_since is not None:
            self.signals.busy_since.value = started
        log.info("job started", extra={"job_id": job.id, "attempt": job.attempts})
        metrics.job_taken(job.available_at, job.attempts, started)
        report = AttemptReport(self.store, job.id, self.worker_id)
        try:
            outputs = execute(
                job,
                self.loader,
                self.blobs,
                self.limits,
                on_facts=report.record_facts,
                on_progress=report.record_progress,
                analyzer=self.analyzer,
                pair_defaults=self.pair_defaults,
            )
        except Exception as exc:
            code, message = failure_of(exc)
            tracing.current().fail(code, message)
            if code == FailureCode.INTERNAL_ERROR:
                log.exception("job raised", extra={"job_id": job.id})
            delay_s = None
            if code == FailureCode.INSUFFICIENT_STORAGE:  # again when this worker resumes
                delay_s = self._short_of_space_for("storing a job's results", exc, job.id)
            record_failure(
                self.store,
                self.backoff,
                job,
                self.worker_id,
                code,
                message,
                started=started,
                facts=report.facts,
                delay_s=delay_s,
            )
        else:
            self._short_of_space = 0  # its results were stored
            if self.queue.takes_from_store and not self.signals.stop_requested:
                done, claimed = self.store.succeed_and_claim(
                    job.id, self.worker_id, outputs, report.facts, lease_s=self.leases.lease_s
                )
            else:
                done = self.store.succeed(job.id, self.worker_id, outputs, report.facts)
            duration = round(time.time() - started, 3)
            metrics.job_finished("succeeded" if done else "discarded", "", duration)
            tracing.current().set(status="succeeded" if done else "discarded")
            if not done:
                self._discard(job.id)
                log.warning(
                    "job result discarded: lease lost or job canceled",
                    extra={"job_id": job.id, "duration_s": duration},
                )
            else:
                log.info("job succeeded", extra={"job_id": job.id, "duration_s": duration})
        finally:
            if self.signals.busy_since is not None:
                self.signals.busy_since.value = 0.0
            with self._lock:
                self._current = None
        # Reached once the outcome is stored (or the job is no longer this worker's); if
        # storing it raised, a broker keeps the job for another attempt.
        self.queue.settle([job.id])
        return claimed

    def _discard(self, job_id: str) -> None:
        """Remove what an attempt wrote for a job canceled meanwhile. A job whose lease
        passed to another worker keeps its files: that worker writes the same keys."""
        current = self.store.get(job_id)
        if current is None or current.status is JobStatus.CANCELED or current.artifacts_deleted:
            self.blobs.delete_prefix(keys.job_prefix(job_id))

    def _heartbeat(self) -> None:
        """Renew the running job's lease and this worker's liveness until the loop ends
        (after a stop request, that is once the running job has finished)."""
        interval = self.leases.lease_s / 3
        last_maintenance = 0.0
        while not self._finished.wait(interval):
            with self._lock:
                current = [self._current] if self._current else []
            try:
                self.store.renew_leases(self.worker_id, current, self.leases.lease_s)
                self.queue.renew(current)
                if time.monotonic() - last_maintenance > MAINTENANCE_EVERY_S:
                    last_maintenance = time.monotonic()
                    for lost in self.store.fail_lost():
                        log.warning(
                            "job failed",
                            extra={"job_id": lost.id, "error_code": FailureCode.WORKER_LOST},
                        )
                        metrics.job_finished("failed", FailureCode.WORKER_LOST)
                    self.store.prune_workers(older_than_s=10 * self.leases.lease_s)
            except Exception as exc:
                if out_of_space(exc):  # the loop waits for space; no traceback each beat
                    log.warning("heartbeat failed: no space left", extra={"error": str(exc)})
                else:
                    log.exception("heartbeat failed")


def worker_main(
    settings: Settings,
    worker_id: str,
    wake: Connection | None = None,
    busy_since: Any = None,
) -> None:
    """Entry point of a worker process: stops after the running job on SIGTERM or SIGINT."""
    configure(settings.log_format, settings.log_level)
    configure_for_worker(settings.worker_threads)
    tracing.setup_from_env("worker")
    signals = WorkerSignals(wake=wake, busy_since=busy_since)

    def request_stop(_signum: int, _frame: object) -> None:
        signals.stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    # Ctrl-C reaches the whole process group; the supervising parent turns it into SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # The pool's supervisor migrated the database before starting any worker.
        run_worker(settings, worker_id, signals, migrate=False)
    finally:
        tracing.shutdown()  # sends the spans still batched


def run_worker(
    settings: Settings, worker_id: str, signals: WorkerSignals, *, migrate: bool = True
) -> None:
    """Open worker ``worker_id``'s parts and run its loop until ``signals`` asks it to stop."""
    parts = build_worker(settings, worker_id, migrate=migrate)
    try:
        Worker(
            worker_id,
            parts.store,
            parts.blobs,
            parts.queue,
            signals,
            leases=lease_settings(settings),
            backoff=job_backoff(settings),
            guard=OutboundGuard(AllowList.parse(settings.outbound_allow)),
            input_root=settings.input_root,
            downloads=download_limits(settings),
            limits=image_limits(settings),
            yolo=yolo_settings(settings),
            pair_defaults=PairDefaults(
                settings.pair_width, settings.pair_gap, settings.pair_skip_edges
            ),
            watermarks=settings.watermark_files(),
        ).run()
    finally:
        parts.engine.dispose()  # the worker's loop closes the queue
