"""Variants kept in the blob store beside their outputs, at most ``max_bytes`` in all, the
least recently used deleted first.

The blob store is the only record, so that every API process, on a local folder or S3,
sees the same one: a variant's size and modification time, which a cache hit sets to
now (``get(touch=True)``: a local file's mtime; on S3 the object is copied onto itself,
at most once a minute). No table is kept. A process lists every variant (under
``jobs/*/variants/``, keys.is_variant_key: never a source or an output) the first time
it writes one, whenever the bytes it knows of plus those it wrote since pass the cap,
and LIST_EVERY_S after it last looked; when they take more than ``max_bytes`` it deletes
the least recently modified until they take at most LOW_WATER of the cap, so that the
next listing waits for that much more to be written. The request whose variant passes
the cap pays for the listing.

What this approximates: each process counts only its own writes between listings, so
several API processes together may pass the cap by what the others wrote since it last
looked (at most LIST_EVERY_S of their writes); on S3 a variant used within a minute of
its last recorded use counts as used then.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from darkroom.blobs import BlobNotFound, BlobStore
from darkroom.jobs.keys import is_variant_key

log = logging.getLogger("darkroom.api")

LOW_WATER = 0.9  # after an eviction the variants take at most this share of the cap
LIST_EVERY_S = 300.0  # a process lists the variants again at least this often as it writes
_JOBS = "jobs/"


class VariantCache:
    def __init__(
        self, blobs: BlobStore, max_bytes: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.blobs = blobs
        self.max_bytes = max_bytes
        self._clock = clock
        self._counted: int | None = None  # bytes as last listed + written since; None: unknown
        self._listed_at = -math.inf
        self._count_lock = threading.Lock()
        self._evicting = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: str) -> bytes | None:
        """The variant at ``key``, its use recorded; None when it is not kept."""
        try:
            return self.blobs.get(key, touch=True)
        except BlobNotFound:
            return None

    def put(self, key: str, data: bytes) -> None:
        """Keep the variant, then evict if the variants may now pass the cap. One too large
        to keep without pushing out almost everything else is not kept."""
        if len(data) > self.max_bytes * LOW_WATER:
            return
        self.blobs.put(key, data)
        with self._count_lock:
            due = (
                self._counted is None
                or self._counted + len(data) > self.max_bytes
                or self._clock() - self._listed_at > LIST_EVERY_S
            )
            if self._counted is not None:
                self._counted += len(data)
        if due:
            try:
                self.evict()
            except Exception:  # the variant is served all the same; the next one tries again
                log.exception("evicting variants failed")

    def evict(self) -> list[str]:
        """List the variants and, when they take more than the cap, delete the least
        recently used until they take at most LOW_WATER of it; the keys deleted. Nothing
        when another thread of this process is at it already."""
        if not self._evicting.acquire(blocking=False):
            return []
        try:
            variants = [e for e in self.blobs.entries(_JOBS) if is_variant_key(e.key)]
            total = sum(entry.size for entry in variants)
            deleted: list[str] = []
            if total > self.max_bytes:
                for entry in sorted(variants, key=lambda e: (e.modified, e.key)):
                    if total <= self.max_bytes * LOW_WATER:
                        break
                    self.blobs.delete(entry.key)
                    total -= entry.size
                    deleted.append(entry.key)
            with self._count_lock:
                self._counted = total
                self._listed_at = self._clock()
            return deleted
        finally:
            self._evicting.release()
