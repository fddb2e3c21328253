from __future__ import annotations

import multiprocessing
import time

from darkroom.queue.doorbell import wait_for_doorbells
from darkroom.worker.wake import PipeDoorbell, ring, wake_pipe

CTX = multiprocessing.get_context("spawn")


def _not_expected() -> None:
    raise AssertionError("the writer is still open")


def test_a_ring_wakes_the_reader_and_is_consumed() -> None:
    reader, writer = wake_pipe(CTX)
    doorbell = PipeDoorbell(reader, on_hangup=_not_expected)
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
    assert wait_for_doorbells([PipeDoorbell(reader, on_hangup=_not_expected)], 1)


def test_ringing_a_gone_reader_is_harmless() -> None:
    reader, writer = wake_pipe(CTX)
    reader.close()
    ring(writer)


def test_without_doorbells_the_wait_is_a_sleep() -> None:
    started = time.monotonic()
    assert not wait_for_doorbells([], 0.05)
    assert time.monotonic() - started >= 0.05


def test_a_closed_writer_is_a_hangup_not_a_ring_forever() -> None:
    reader, writer = wake_pipe(CTX)
    hangups: list[bool] = []
    doorbell = PipeDoorbell(reader, on_hangup=lambda: hangups.append(True))
    ring(writer)
    writer.close()  # the supervisor is gone
    assert wait_for_doorbells([doorbell], 1)
    assert hangups == [True]  # told once the ring is read and the pipe found closed
