"""Dispatch through a Redis Streams consumer group; job state stays in the database.

The API adds a message (the job id) to the stream once the job's row is committed. Each
worker reads the group as its own consumer, claims the named job in the store and
acknowledges the message only after the job's outcome is stored: delivery is at least
once. A message whose consumer died stays pending; after the lease time (renewed by the
running worker's heartbeat with XCLAIM) another worker takes it over with XAUTOCLAIM. A
retry that comes due later, a job whose message was never added (the API died between
commit and XADD) or one whose lease ran out are found by the store's own claim, which
each worker runs every poll interval as well: the database stays the source of truth.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from darkroom.jobs.model import Job
from darkroom.queue.doorbell import Doorbell, wait_for_doorbells
from darkroom.store import JobStore

log = logging.getLogger("darkroom.queue")

GROUP = "darkroom-workers"


REDIS_CONNECT_TIMEOUT_S = 5.0
REDIS_TIMEOUT_S = 10.0  # well above the longest blocking read (a worker's wait, 0.1 s)


class RedisStreamQueue:
    takes_from_store = False  # the broker names the next job

    def __init__(
        self,
        store: JobStore,
        url: str,
        *,
        stream: str,
        consumer: str,
        poll_interval_s: float,
        timeout_s: float = REDIS_TIMEOUT_S,
    ) -> None:
        try:
            import redis
        except ModuleNotFoundError as exc:
            raise RuntimeError(
                "DARKROOM_BROKER_URL is redis://...: pip install 'darkroom[redis]'"
            ) from exc
        self.store = store
        self.stream = stream
        self.consumer = consumer
        self.poll_interval_s = poll_interval_s
        # a Redis that stops answering fails a call (and /readyz) instead of hanging it
        self.redis: Any = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S, socket_timeout=timeout_s
        )
        self._read: deque[tuple[str, str]] = deque()  # (message id, job id) read, not taken
        self._in_flight: dict[str, str] = {}  # job id -> message id, until settled
        self._lock = threading.Lock()  # _in_flight is read by the heartbeat thread
        self._last_store_claim = 0.0
        self._last_reclaim = -float("inf")
        self._group_ready = False

    # -- API side --------------------------------------------------------------------------

    def announce(self, job_ids: Sequence[str]) -> None:
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.xadd(self.stream, {"job": job_id})
            pipe.execute()

    # -- worker side -----------------------------------------------------------------------

    def take(self, worker_id: str, *, lease_s: float, limit: int = 1) -> list[Job]:
        self._ensure_group()
        if len(self._read) < limit:
            wanted = limit - len(self._read)
            self._read.extend(
                self._reclaim(lease_s, wanted) or self._read_new(block_ms=None, count=wanted)
            )
        batch = [self._read.popleft() for _ in range(min(limit, len(self._read)))]
        message_of = {job_id: message_id for message_id, job_id in batch}
        taken = self.store.claim_named(list(message_of), worker_id, lease_s=lease_s)
        with self._lock:
            for job in taken:
                self._in_flight[job.id] = message_of.pop(job.id)
        for message_id in message_of.values():
            self._forget(message_id)
        return taken or self._claim_from_store(worker_id, lease_s, limit)

    def wait(self, timeout_s: float, doorbells: Sequence[Doorbell] = ()) -> bool:
        if doorbells and wait_for_doorbells(doorbells, 0):
            return True
        self._ensure_group()
        found = self._read_new(block_ms=max(1, int(timeout_s * 1000)), count=1)
        self._read.extend(found)
        return bool(found)

    def renew(self, job_ids: Sequence[str]) -> None:
        with self._lock:
            message_ids = [self._in_flight[j] for j in job_ids if j in self._in_flight]
        if message_ids:
            # Claiming one's own messages again resets their idle time, so nobody takes
            # them over while the job runs.
            self.redis.xclaim(self.stream, GROUP, self.consumer, 0, message_ids, justid=True)

    def settle(self, job_ids: Sequence[str]) -> None:
        with self._lock:
            message_ids = [m for j in job_ids if (m := self._in_flight.pop(j, None)) is not None]
        if message_ids:
            self.redis.xack(self.stream, GROUP, *message_ids)

    def ping(self) -> None:
        """A PING on the broker's connection: a Redis that is down or refuses us raises."""
        self.redis.ping()

    def close(self) -> None:
        self.redis.close()

    # -- internals ---------------------------------------------------------------------------

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except Exception as exc:  # the group exists: another worker made it
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _reclaim(self, lease_s: float, count: int) -> list[tuple[str, str]]:
        """Messages pending longer than a lease with a consumer that stopped renewing them.

        Looked for at most every quarter lease: a takeover is due a lease after the death
        anyway, and XAUTOCLAIM scans the pending list, which grows with the work in flight."""
        if time.monotonic() - self._last_reclaim < lease_s / 4:
            return []
        self._last_reclaim = time.monotonic()
        _next, claimed, *_ = self.redis.xautoclaim(
            self.stream, GROUP, self.consumer, int(lease_s * 1000), start_id="0-0", count=count
        )
        return [_entry(message) for message in claimed if message and message[1]]

    def _read_new(self, block_ms: int | None, count: int) -> list[tuple[str, str]]:
        reply = self.redis.xreadgroup(
            GROUP, self.consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return [_entry(message) for _stream, messages in reply or [] for message in messages]

    def _forget(self, message_id: str) -> None:
        """The job could not be claimed: finished, canceled, gone, not due yet, or running
        under another worker's live lease (one that may have claimed it from the store,
        knowing no message to acknowledge). The message is done with either way: the
        store's lease brings the job back if that worker dies, and its retry comes due
        in the store's own claim."""
        self.redis.xack(self.stream, GROUP, message_id)

    def _claim_from_store(self, worker_id: str, lease_s: float, limit: int) -> list[Job]:
        if time.monotonic() - self._last_store_claim < self.poll_interval_s:
            return []
        self._last_store_claim = time.monotonic()
        return self.store.claim(worker_id, limit=limit, lease_s=lease_s)


def _entry(message: Any) -> tuple[str, str]:
    message_id, fields = message
    return _text(message_id), _text(fields[b"job"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
