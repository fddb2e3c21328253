"""One helper for work a darkroom process repeats in a thread of its own until it stops:
the retention sweep, a dialect's batch processor, a queue consumer's heartbeat."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("darkroom.periodic")


class Periodic:
    """Calls ``tick`` every ``interval_s`` (after the first wait) until stopped; an error
    in one tick is logged and the next tick comes as usual."""

    def __init__(self, name: str, interval_s: float, tick: Callable[[], object]) -> None:
        self.name = name
        self.interval_s = interval_s
        self.tick = tick
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 60) -> None:
        """Let the tick in hand finish (up to ``timeout_s``), then stop."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self.stopping.wait(self.interval_s):
            try:
                self.tick()
            except Exception:
                log.exception(f"{self.name} failed; trying again at the next interval")
