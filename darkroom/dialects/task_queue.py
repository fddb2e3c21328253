"""Seed 001's Redis task queue, shared with the system's other workers, consumed reliably.

Producers ``LPUSH task_queue '{"task_type": "process_image", "payload": {"imageJobID":
"…"}}'``; the system's backend pushes other task types onto the same list (its report
worker's ``generate_report``). darkroom takes only ``process_image`` tasks: a Lua script
looks at the oldest messages (the list's right end, up to ``SCAN_DEPTH`` of them), and
moves the oldest of its own, atomically, onto a processing list of this consumer,
``task_queue:processing:<consumer>``, removing it there only once it is dealt with. Every
other message stays where it was, in order, for its own worker; darkroom never takes,
drops or dead-letters it. A Redis list has no peek-and-skip, so the script is the atomic
way; its cost is one LRANGE of at most SCAN_DEPTH entries per look (docs/compatibility.md).

While it lives a consumer keeps ``task_queue:alive:<consumer>`` set, with an expiry; a
processing list whose consumer's key has expired (the process was killed) is moved back
onto the queue by any other consumer. A process_image task without an image job id goes
to ``task_queue:dead`` with the reason and a log line.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger("darkroom.dialects.task_queue")

PROCESS_IMAGE = "process_image"
SCAN_DEPTH = 1000  # how far from the oldest end a look for darkroom's tasks goes

# KEYS: the queue, this consumer's processing list; ARGV: the task type, the scan depth.
# The oldest entry is the rightmost (producers LPUSH). Entries that are not JSON objects
# of the task type are left alone.
_TAKE_OWN = """
local entries = redis.call('LRANGE', KEYS[1], -tonumber(ARGV[2]), -1)
for i = #entries, 1, -1 do
  local raw = entries[i]
  local ok, message = pcall(cjson.decode, raw)
  if ok and type(message) == 'table' and message['task_type'] == ARGV[1] then
    redis.call('LREM', KEYS[1], -1, raw)
    redis.call('LPUSH', KEYS[2], raw)
    return raw
  end
end
return false
"""


class MalformedTask(ValueError):
    """A process_image task darkroom cannot act on (no image job id)."""


@dataclass(frozen=True)
class Task:
    raw: str  # the message as it was pushed: removing it needs the same bytes
    image_job_id: str
    attempts: int = 0  # how often a consumer already gave it back after a transient failure


def parse(raw: str) -> Task:
    """A process_image task (as the queue's script took it), or MalformedTask saying what
    is wrong with it."""
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
        self._take_own = redis.register_script(_TAKE_OWN)

    def push(self, raw: str) -> None:
        self.redis.lpush(self.name, raw)

    def length(self) -> int:
        return int(self.redis.llen(self.name))

    def dead_count(self) -> int:
        return int(self.redis.llen(self.dead))

    def beat(self) -> None:
        """This consumer lives: its processing list is not to be taken back."""
        self.redis.set(self._alive(self.consumer), "1", px=int(self.lease_s * 1000))

    def take(self) -> str | None:
        """The oldest process_image message, now on this consumer's processing list; None
        when there is none."""
        raw = self._take_own(keys=[self.name, self.processing], args=[PROCESS_IMAGE, SCAN_DEPTH])
        return _text(raw) if raw else None

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
