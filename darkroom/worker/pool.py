"""A supervised pool of worker processes: resizable, restarts the dead, enforces timeouts."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any

from darkroom import metrics
from darkroom.config import Settings
from darkroom.jobs.failures import FailureCode
from darkroom.jobs.status import JobStatus
from darkroom.slices import job_backoff
from darkroom.store import JobStore
from darkroom.worker.process import record_failure, worker_main
from darkroom.worker.wake import ring, wake_pipe

log = logging.getLogger("darkroom.pool")

_CTX = multiprocessing.get_context("spawn")
SUPERVISE_EVERY_S = 0.25


@dataclass
class _Slot:
    process: SpawnProcess
    worker_id: str
    busy_since: Any  # multiprocessing Value('d')
    wake: Connection  # write end of the worker's wake pipe
    retiring: bool = False


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class WorkerPool:
    def __init__(self, settings: Settings, store: JobStore, size: int) -> None:
        """``settings``: what each worker process is built from."""
        self.settings = settings
        self.backoff = job_backoff(settings)
        self.store = store
        self._target = size
        self._slots: list[_Slot] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def size(self) -> int:
        return self._target

    def alive(self) -> int:
        with self._lock:
            return sum(1 for s in self._slots if s.process.is_alive() and not s.retiring)

    def pids(self) -> list[int]:
        with self._lock:
            return [s.process.pid for s in self._slots if s.process.pid is not None]

    def wake(self) -> None:
        """Wake idle workers: a job was submitted. Rung under the lock, so no pipe is
        closed meanwhile (its descriptor reused); the writes never block."""
        with self._lock:
            for slot in self._slots:
                if not slot.retiring:
                    ring(slot.wake)

    def start(self) -> None:
        with self._lock:
            self._reconcile()
        self._supervisor = threading.Thread(target=self._supervise, name="pool", daemon=True)
        self._supervisor.start()

    def resize(self, size: int) -> None:
        if size < 0:
            raise ValueError("pool size must be >= 0")
        with self._lock:
            self._target = size
            self._reconcile()
        log.info("worker pool resized", extra={"workers": size})

    def stop(self, timeout_s: float | None = None) -> None:
        """Ask every worker to finish its running job and exit; kill those that outlast
        ``timeout_s`` (default: the job timeout)."""
        self._stopping.set()
        with self._lock:
            slots = list(self._slots)
        for slot in slots:
            _terminate(slot.process)
        deadline = time.monotonic() + (timeout_s or self.settings.job_timeout_s)
        for slot in slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                log.warning("worker outlived shutdown; killing", extra={"pid": slot.process.pid})
                slot.process.kill()
                slot.process.join(5)
                self._reclaim(slot, FailureCode.WORKER_LOST, "the worker was killed at shutdown")
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)

    def _spawn(self) -> _Slot:
        # Spawned children inherit this environment. Two malloc arenas keep glibc from
        # fragmenting libvips' per-thread allocations into a much larger resident set.
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
        worker_id = new_worker_id()
        busy_since = _CTX.RawValue("d", 0.0)
        reader, writer = wake_pipe(_CTX)
        process = _CTX.Process(
            target=worker_main,
            args=(self.settings, worker_id, reader, busy_since),
            name=f"darkroom-worker-{worker_id}",
            daemon=False,
        )
        process.start()
        reader.close()  # the worker holds its own copy; a dead worker's pipe then breaks
        return _Slot(process=process, worker_id=worker_id, busy_since=busy_since, wake=writer)

    def _reconcile(self) -> None:
        active = [s for s in self._slots if not s.retiring]
        for slot in active[self._target :]:
            slot.retiring = True
            _terminate(slot.process)
        for _ in range(self._target - len(active)):
            self._slots.append(self._spawn())

    def _supervise(self) -> None:
        while not self._stopping.wait(SUPERVISE_EVERY_S):
            with self._lock:
                for slot in list(self._slots):
                    self._check(slot)
                if not self._stopping.is_set():
                    self._reconcile()

    def _check(self, slot: _Slot) -> None:
        if not slot.process.is_alive():
            self._forget(slot)
            if not slot.retiring:
                log.warning(
                    "worker died; restarting",
                    extra={"pid": slot.process.pid, "exitcode": slot.process.exitcode},
                )
            self._reclaim(
                slot, FailureCode.WORKER_CRASHED, "the worker process died while running this job"
            )
            return
        started = slot.busy_since.value
        if started and time.time() - started > self.settings.job_timeout_s:
            log.warning("job timed out; killing its worker", extra={"pid": slot.process.pid})
            slot.process.kill()
            slot.process.join(5)
            self._forget(slot)
            self._reclaim(
                slot,
                FailureCode.TIMEOUT,
                f"the job ran longer than {self.settings.job_timeout_s:g} s",
            )

    def _forget(self, slot: _Slot) -> None:
        self._slots.remove(slot)
        slot.wake.close()
        metrics.process_dead(slot.process.pid)

    def _reclaim(self, slot: _Slot, code: str, message: str) -> None:
        """Record the outcome of a job whose worker process is gone."""
        try:
            for job in self.store.owned_by(slot.worker_id):
                if job.status is JobStatus.PROCESSING:
                    record_failure(
                        self.store,
                        self.backoff,
                        job,
                        slot.worker_id,
                        code,
                        message,
                        started=slot.busy_since.value or None,
                    )
            self.store.unregister_worker(slot.worker_id)
        except Exception:
            log.exception("could not reclaim jobs of a dead worker")


def _terminate(process: SpawnProcess) -> None:
    if process.is_alive() and process.pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
