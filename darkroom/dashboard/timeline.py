"""The dashboard's charts: queue depth and throughput per minute over the last hour."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

MINUTES = 60


@dataclass(frozen=True)
class Minute:
    start: float  # Unix seconds
    created: int
    finished: int
    queued: int  # jobs waiting at the minute's end: created, not yet started or finished


def per_minute(
    rows: Iterable[tuple[float, float | None, float | None]], now: float
) -> list[Minute]:
    """The last MINUTES minutes, oldest first, from (created_at, started_at, finished_at)
    rows (JobReads.activity). A retried job counts as waiting from its creation to its
    latest start, so depth is an estimate where jobs were retried."""
    first = now - MINUTES * 60
    created = [0] * MINUTES
    finished = [0] * MINUTES
    waiting = [0] * (MINUTES + 1)  # changes in depth, summed below
    for created_at, started_at, finished_at in rows:
        if created_at >= first:
            created[min(MINUTES - 1, int((created_at - first) // 60))] += 1
        if finished_at is not None and finished_at >= first:
            finished[min(MINUTES - 1, int((finished_at - first) // 60))] += 1
        left_queue = started_at if started_at is not None else finished_at
        # waiting at the end of minute i: created_at <= its end < left_queue
        low = max(0, math.ceil((created_at - first) / 60 - 1))
        high = MINUTES if left_queue is None else math.ceil((left_queue - first) / 60 - 1)
        if low < min(high, MINUTES):
            waiting[low] += 1
            waiting[min(high, MINUTES)] -= 1
    queued = list(itertools.accumulate(waiting[:MINUTES]))
    return [Minute(first + i * 60, created[i], finished[i], queued[i]) for i in range(MINUTES)]
