"""Waking an idle worker process the moment a job is submitted beside it.

One pipe per worker process: the supervising process writes a byte on each submission,
the idle worker blocks reading it. Nothing is ever locked, so a worker killed at any
point leaves nothing held; a full pipe (a busy worker) or a dead reader drops the byte,
which costs nothing, since the worker looks for queued jobs whenever it is free.
"""

from __future__ import annotations

import contextlib
import os
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext

_DRAIN_BYTES = 4096


def wake_pipe(context: BaseContext) -> tuple[Connection, Connection]:
    """(reader for the worker process, writer for the supervisor); the writer never blocks."""
    reader, writer = context.Pipe(duplex=False)
    os.set_blocking(writer.fileno(), False)
    return reader, writer


def ring(writer: Connection) -> None:
    with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
        os.write(writer.fileno(), b"\0")


def wait_for_ring(reader: Connection, timeout_s: float) -> bool:
    """Block up to ``timeout_s``; True when woken, after emptying the pipe."""
    if not wait([reader], timeout_s):
        return False
    os.set_blocking(reader.fileno(), False)
    with contextlib.suppress(BlockingIOError, OSError):
        while os.read(reader.fileno(), _DRAIN_BYTES):
            pass
    return True
