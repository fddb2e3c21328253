"""At most a few on-the-fly conversions at once in an API process, on threads of their own.

A conversion (an output fetched with ?format=&width=, a dialect's image route) decodes
and encodes in the API process, and AVIF's encoder alone takes about 20 bytes per
output pixel whatever its effort (docs/performance.md): 250 MiB for 12 MP. So a process
runs at most ``slots`` at once, each on one of ``slots`` threads kept for them, so that
their memory comes from the same few malloc arenas, and hands freed memory back to the
system after each (runtime.release_freed_memory). A request that finds every slot
taken waits up to ``wait_s`` for one, holding no image meanwhile, then is refused:
503 ``busy`` with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from darkroom.imaging.runtime import release_freed_memory
from darkroom.jobs.errors import Busy

T = TypeVar("T")


class ConversionGate:
    def __init__(self, slots: int, wait_s: float) -> None:
        self.slots = slots
        self.wait_s = wait_s
        self._free = asyncio.Semaphore(slots)
        self._threads = ThreadPoolExecutor(slots, thread_name_prefix="darkroom-variant")
        self._running = 0
        self._waiting = 0

    @property
    def running(self) -> int:
        """Conversions running now (each holds a slot until its thread is done)."""
        return self._running

    @property
    def waiting(self) -> int:
        """Requests waiting for a slot now."""
        return self._waiting

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` on one of the gate's threads once a slot is free; Busy when none
        was free within ``wait_s``. A caller that stops waiting leaves the slot taken
        until the work is done: a thread cannot be stopped half-way."""
        self._waiting += 1
        try:
            async with asyncio.timeout(self.wait_s):
                await self._free.acquire()
        except TimeoutError:
            raise Busy(
                f"this process's conversions ({self.slots} at once) stayed busy for "
                f"{self.wait_s:g} s; try again shortly",
                retry_after_s=math.ceil(self.wait_s),
            ) from None
        finally:
            self._waiting -= 1
        self._running += 1
        loop = asyncio.get_running_loop()
        try:
            done: Future[T] = self._threads.submit(_then_trim, work)
        except BaseException:
            self._release()
            raise
        done.add_done_callback(lambda _: _on_loop(loop, self._release))
        return await asyncio.wrap_future(done)

    def _release(self) -> None:
        self._running -= 1
        self._free.release()

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


def _then_trim(work: Callable[[], T]) -> T:
    try:
        return work()
    finally:
        release_freed_memory()


def _on_loop(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: the app has stopped
        loop.call_soon_threadsafe(callback)
