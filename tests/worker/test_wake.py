from __future__ import annotations

import multiprocessing
import time

from darkroom.queue.doorbell import wait_for_doorbells
from darkroom.worker.wake import PipeDoorbell, ring, wake_pipe

CTX = multiprocessing.get_context("spawn")


def test_a_ring_wakes_the_reader_and_is_consumed() -> None:
    reader, writer = wake_pipe(CTX)
    doorbell = PipeDoorbell(reader)
    assert not wait_for_doorbells([doorbell], 0.01)
    ring(writer)
    ring(writer)
    started = time.monotonic()
    assert wait_for_doorbells([doorbell], 5)
    assert time.monotonic() - started < 1
    assert not wait_for_doorbells([doorbell], 0.01)  # both rings drained by the first wake


def test_ringing_a_full_pipe_never_blocks() -> None:
    reader, writer = wake_pipe(CTX)
    for _ in range(200_000):  # far more than a pipe buffer holds
        ring(writer)
    assert wait_for_doorbells([PipeDoorbell(reader)], 1)


def test_ringing_a_gone_reader_is_harmless() -> None:
    reader, writer = wake_pipe(CTX)
    reader.close()
    ring(writer)


def test_without_doorbells_the_wait_is_a_sleep() -> None:
    started = time.monotonic()
    assert not wait_for_doorbells([], 0.05)
    assert time.monotonic() - started >= 0.05
