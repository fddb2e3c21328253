"""Seed 001's Redis task queue, consumed reliably.

Producers ``LPUSH task_queue '{"task_type": "process_image", "payload": {"imageJobID":
"…"}}'``. A consumer moves the oldest message atomically (BLMOVE) onto a processing list
of its own, ``task_queue:processing:<consumer>``, and removes it from there only once the
message is dealt with. While it lives it keeps ``task_queue:alive:<consumer>`` set, with
an expiry; a processing list whose consumer's key has expired (the process was killed)
is moved back onto the queue by any other consumer. A message that is not JSON, or not a
task it knows, goes to ``task_queue:dead`` with the reason and a log line.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger("darkroom.dialects.task_queue")

PROCESS_IMAGE = "process_image"


class MalformedTask(ValueError):
    pass


@dataclass(frozen=True)
class Task:
    raw: str  # the message as it was pushed: removing it needs the same bytes
    image_job_id: str
    attempts: int = 0  # how often a consumer already gave it back after a transient failure


def parse(raw: str) -> Task:
    """A process_image task, or MalformedTask saying what is wrong with it."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedTask(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise MalformedTask("not a JSON object")
    if message.get("task_type") != PROCESS_IMAGE:
        raise MalformedTask(f"unknown task_type {message.get('task_type')!r}")
    payload = message.get("payload")
    job_id = payload.get("imageJobID") if isinstance(payload, dict) else None
    if not isinstance(job_id, str) or not job_id.strip():
        raise MalformedTask("payload.imageJobID is missing")
    attempts = message.get("attempts", 0)
    return Task(raw, job_id.strip(), attempts if isinstance(attempts, int) else 0)


def message(image_job_id: str, attempts: int = 0) -> str:
    body: dict[str, Any] = {"task_type": PROCESS_IMAGE, "payload": {"imageJobID": image_job_id}}
    if attempts:
        body["attempts"] = attempts  # extra fields are ignored by the system's own workers
    return orjson.dumps(body).decode()


class TaskQueue:
    def __init__(self, redis: Any, name: str, consumer: str, lease_s: float = 30.0) -> None:
        self.redis = redis
        self.name = name
        self.consumer = consumer
        self.lease_s = lease_s
        self.processing = f"{name}:processing:{consumer}"
        self.dead = f"{name}:dead"

    def push(self, raw: str) -> None:
        self.redis.lpush(self.name, raw)

    def length(self) -> int:
        return int(self.redis.llen(self.name))

    def dead_count(self) -> int:
        return int(self.redis.llen(self.dead))

    def beat(self) -> None:
        """This consumer lives: its processing list is not to be taken back."""
        self.redis.set(self._alive(self.consumer), "1", px=int(self.lease_s * 1000))

    def take(self, timeout_s: float) -> str | None:
        """The oldest message, now on this consumer's processing list; None after
        ``timeout_s`` with nothing queued."""
        self.beat()
        raw = self.redis.blmove(self.name, self.processing, timeout_s, "RIGHT", "LEFT")
        return _text(raw) if raw is not None else None

    def done(self, raw: str) -> None:
        self.redis.lrem(self.processing, 1, raw)

    def again(self, raw: str, retry: str) -> None:
        """Give a message back (as ``retry``, which counts the attempt) for a later try."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.name, retry)
            pipe.lrem(self.processing, 1, raw)
            pipe.execute()

    def dead_letter(self, raw: str, reason: str) -> None:
        entry = orjson.dumps({"message": raw, "reason": reason, "at": time.time()})
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.dead, entry)
            pipe.lrem(self.processing, 1, raw)
            pipe.execute()
        log.warning(f"task moved to {self.dead}: {reason}", extra={"task": raw[:500]})

    def recover(self) -> int:
        """Put back on the queue what consumers that stopped living left being processed
        (this consumer's own list too, once its key has expired: a process that was
        frozen). Returns how many messages."""
        moved = 0
        prefix = f"{self.name}:processing:"
        for key in self.redis.scan_iter(match=prefix + "*", count=100):
            owner = _text(key)[len(prefix) :]
            if self.redis.exists(self._alive(owner)):
                continue
            while self.redis.lmove(_text(key), self.name, "RIGHT", "RIGHT") is not None:
                moved += 1
        if moved:
            log.warning(f"{moved} task(s) of stopped consumers put back on {self.name}")
        return moved

    def _alive(self, consumer: str) -> str:
        return f"{self.name}:alive:{consumer}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
