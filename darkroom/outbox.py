"""One sender loop for every outbox (store/outbox.py): claim due rows under a lease, carry
each out in a small thread pool, record the attempt, and retry with the one backoff
policy (jobs/retry.py) until done or out of attempts. Webhook deliveries and job effects
both go through it; a row whose sender died is taken over when its lease runs out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

log = logging.getLogger("darkroom.outbox")

Row = TypeVar("Row")


class OutboxLoop(Generic[Row]):
    def __init__(
        self,
        name: str,
        claim: Callable[[int], list[Row]],
        send: Callable[[Row], None],
        *,
        concurrency: int,
        poll_s: float,
        stop_timeout_s: float,
    ) -> None:
        """``claim(n)`` takes up to n due rows; ``send(row)`` makes one attempt and
        records it, whatever happens."""
        self.name = name
        self.claim = claim
        self.send = send
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.stop_timeout_s = stop_timeout_s
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(concurrency, name)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming; let attempts in flight finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.stop_timeout_s)
        self._pool.shutdown(wait=True)

    def _run(self) -> None:
        running: set[Future[None]] = set()
        while not self._stop.is_set():
            free = self.concurrency - len(running)
            claimed: list[Row] = []
            if free > 0:
                try:
                    claimed = self.claim(free)
                except Exception:
                    log.exception(f"{self.name}: could not look for due work")
            running |= {self._pool.submit(self.send, row) for row in claimed}
            if running:
                _done, pending = wait(running, timeout=self.poll_s, return_when=FIRST_COMPLETED)
                running = set(pending)
            elif not claimed:
                self._stop.wait(self.poll_s)
        wait(running)
