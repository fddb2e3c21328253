"""Waking an idle worker process the moment a job is queued.

Two kinds of doorbell, waited on together: a pipe per worker process that the supervising
process (the API beside it) writes a byte to on each submission, and, where the database
can notify, a connection LISTENing for jobs queued by any API process on any machine.
Nothing is locked, so a worker killed at any point leaves nothing held; a full pipe (a
busy worker) or a dead reader drops the byte, which costs nothing, since the worker looks
for queued jobs whenever it is free.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from typing import Protocol

_DRAIN_BYTES = 4096


class Doorbell(Protocol):
    def fileno(self) -> int: ...

    def drain(self) -> None:
        """Consume what made the doorbell readable."""


class PipeDoorbell:
    def __init__(self, reader: Connection) -> None:
        self.reader = reader
        os.set_blocking(reader.fileno(), False)

    def fileno(self) -> int:
        return self.reader.fileno()

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.reader.fileno(), _DRAIN_BYTES):
                pass


def wake_pipe(context: BaseContext) -> tuple[Connection, Connection]:
    """(reader for the worker process, writer for the supervisor); the writer never blocks."""
    reader, writer = context.Pipe(duplex=False)
    os.set_blocking(writer.fileno(), False)
    return reader, writer


def ring(writer: Connection) -> None:
    with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
        os.write(writer.fileno(), b"\0")


def wait_for_doorbells(doorbells: Sequence[Doorbell], timeout_s: float) -> bool:
    """Block up to ``timeout_s``; True when one rang, after draining those that did.
    Errors of a doorbell's ``drain`` (a dropped database connection) propagate."""
    if not doorbells:
        time.sleep(timeout_s)
        return False
    by_fd = {doorbell.fileno(): doorbell for doorbell in doorbells}
    ready = wait(list(by_fd), timeout_s)
    for fd in ready:
        by_fd[fd].drain()  # type: ignore[index]
    return bool(ready)
