"""Doorbells: things with a file descriptor that turns readable when work may be waiting
(a worker's wake pipe, a PostgreSQL LISTEN connection), waited on together."""

from __future__ import annotations

import time
from collections.abc import Sequence
from multiprocessing.connection import wait
from typing import Protocol


class Doorbell(Protocol):
    def fileno(self) -> int: ...

    def drain(self) -> None:
        """Consume what made the doorbell readable."""


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
