"""Waking an idle worker process the moment a job is submitted to the API beside it.

A pipe per worker process: the supervising process writes a byte on each submission, the
idle worker waits for it (a queue/doorbell.Doorbell, beside whatever the queue itself
offers). Nothing is locked, so a worker killed at any point leaves nothing held; a full
pipe (a busy worker) or a dead reader drops the byte, which costs nothing, since the
worker looks for queued jobs whenever it is free. The pipe reads as closed once the
supervisor is gone (killed with SIGKILL, say): the worker is told (``on_hangup``) and
stops, where it would otherwise find the pipe readable forever and spin.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext

_DRAIN_BYTES = 4096


class PipeDoorbell:
    def __init__(self, reader: Connection, on_hangup: Callable[[], None]) -> None:
        self.reader = reader
        self.on_hangup = on_hangup
        os.set_blocking(reader.fileno(), False)

    def fileno(self) -> int:
        return self.reader.fileno()

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.reader.fileno(), _DRAIN_BYTES):
                pass
            self.on_hangup()  # read to the end: no writer is left


def wake_pipe(context: BaseContext) -> tuple[Connection, Connection]:
    """(reader for the worker process, writer for the supervisor); the writer never blocks."""
    reader, writer = context.Pipe(duplex=False)
    os.set_blocking(writer.fileno(), False)
    return reader, writer


def ring(writer: Connection) -> None:
    with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
        os.write(writer.fileno(), b"\0")
