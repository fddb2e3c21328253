"""At most a few on-the-fly conversions at once per API process, each run in a converter
process of its own so that the API process's memory stays near its idle size.

A conversion (an output fetched with ?format=&width=, a dialect's image route) decodes
and encodes, and AVIF's encoder alone takes about 20 bytes per output pixel whatever its
effort (docs/performance.md): 250 MiB for 12 MP. Run in the API process, that memory
stays mapped by its allocator long after. So a process keeps up to ``slots`` converter
processes (started at the first conversion, spawned so that they share nothing with the
API's threads), runs at most ``slots`` conversions at once, and a converter hands freed
memory back to the system after each (runtime.release_freed_memory). A converter that
dies (killed, out of memory, a crash in a decoder) fails only the conversions it held,
with 503 ``conversion_failed``; the next conversion starts a new one.

A request that finds every slot taken waits up to ``wait_s`` for one, holding no image
meanwhile, then is refused: 503 ``busy`` with Retry-After. What runs in a converter must
pickle: a module-level function and plain data (functools.partial of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from darkroom.imaging.runtime import no_operation_cache, release_freed_memory
from darkroom.jobs.errors import Busy, ConverterLost

T = TypeVar("T")
log = logging.getLogger("darkroom.api")
_SPAWN = multiprocessing.get_context("spawn")
PARENT_CHECK_S = 1.0  # how often a converter checks that its API process is alive


class ConversionGate:
    def __init__(self, slots: int, wait_s: float) -> None:
        self.slots = slots
        self.wait_s = wait_s
        self._free = asyncio.Semaphore(slots)
        self._converters: ProcessPoolExecutor | None = None
        self._running = 0
        self._waiting = 0

    @property
    def running(self) -> int:
        """Slots held now."""
        return self._running

    @property
    def waiting(self) -> int:
        """Requests waiting for a slot now."""
        return self._waiting

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of the process's conversion slots, held for the block; Busy when none was
        free within ``wait_s``."""
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
        try:
            yield
        finally:
            self._running -= 1
            self._free.release()

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a converter once a slot is free (``slot``, then ``convert``)."""
        async with self.slot():
            return await self.convert(work)

    async def convert(self, work: Callable[[], T]) -> T:
        """``work()`` in a converter; call it holding a slot. ConverterLost when the
        converter died. Cancelling the wait leaves the work running to its end."""
        converters = self._started()
        done: Future[T] = converters.submit(_then_trim, work)
        try:
            return await asyncio.wrap_future(done)
        except BrokenProcessPool:
            self._forget(converters)
            raise ConverterLost(
                "the process converting this image stopped before it was done; try again",
                retry_after_s=1,
            ) from None

    def _started(self) -> ProcessPoolExecutor:
        if self._converters is None:
            self._converters = ProcessPoolExecutor(
                self.slots, mp_context=_SPAWN, initializer=_start_converter, initargs=(os.getpid(),)
            )
        return self._converters

    def _forget(self, broken: ProcessPoolExecutor) -> None:
        """Drop a pool whose converter died; the next conversion starts a new one."""
        if self._converters is broken:
            log.warning("a converter process died; starting a new one at the next conversion")
            self._converters = None
            broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._converters is not None:
            self._converters.shutdown(wait=True, cancel_futures=True)
            self._converters = None


def _start_converter(api_pid: int) -> None:
    """In a new converter: libvips' operation cache off (it would keep decoded images alive
    between conversions); Ctrl-C left to the API process, which stops its converters; and
    an exit of its own once the API process is gone, however that went."""
    no_operation_cache()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_without, args=(api_pid,), daemon=True).start()


def _exit_without(api_pid: int) -> None:
    while os.getppid() == api_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _then_trim(work: Callable[[], T]) -> T:
    try:
        return work()
    finally:
        release_freed_memory()
