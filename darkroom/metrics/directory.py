"""Where every process of one darkroom writes its figures: prometheus-client's multiprocess
mode, one folder shared by the API process and the worker processes it spawns."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from prometheus_client import multiprocess, values

ENV = "PROMETHEUS_MULTIPROC_DIR"


def shared_directory() -> Path | None:
    """The folder set for this process (by the operator, or by the API process that
    spawned it), if any."""
    path = os.environ.get(ENV)
    return Path(path) if path else None


def ensure_directory() -> Path:
    """The shared folder, made now when none is set: a fresh temporary folder, named in the
    environment so that worker processes spawned from here on write to it too, and removed
    when this process exits. Call it before any figure is recorded in this process."""
    path = shared_directory()
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="darkroom-metrics-"))
        os.environ[ENV] = str(path)
        atexit.register(_remove, path, os.getpid())
    path.mkdir(parents=True, exist_ok=True)
    # prometheus-client picks its value store when first imported, maybe before the
    # folder was set: switch to files now (once: two stores would write one file twice)
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return path


def process_dead(pid: int | None) -> None:
    """Drop a dead worker process's live gauges; its counters and histograms stay."""
    path = shared_directory()
    if path is not None and pid is not None:
        multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]


def _remove(path: Path, owner_pid: int) -> None:
    if os.getpid() == owner_pid:  # not a forked child that inherited the exit hook
        shutil.rmtree(path, ignore_errors=True)
