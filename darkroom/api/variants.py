"""Outputs converted on the fly for an API process: the gate that bounds how many run at
once and runs them in converter processes (variant_gate.py), and the cache that keeps
them in the blob store (variant_cache.py). The native outputs route and the dialects'
image routes reach it through output_files."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from starlette.concurrency import run_in_threadpool

from darkroom import imaging
from darkroom.api.variant_cache import VariantCache
from darkroom.api.variant_gate import ConversionGate
from darkroom.blobs import BlobStore

# Runs in a converter process: a module-level function, or a functools.partial of one
# with plain data (variant_gate.py)
Convert = Callable[[imaging.ImageInput], imaging.Rendered]


@dataclass(frozen=True)
class VariantSettings:
    concurrency: int  # conversions at once for this process, each in a converter process
    wait_s: float  # how long a request waits for one before 503 busy
    cache_max_bytes: int  # variants kept in all; 0: none


class Variants:
    """Makes variants for one API process."""

    def __init__(self, blobs: BlobStore, settings: VariantSettings, limits: imaging.Limits):
        self.blobs = blobs
        self.limits = limits
        self.gate = ConversionGate(settings.concurrency, settings.wait_s)
        self.cache = VariantCache(blobs, settings.cache_max_bytes)
        self._making: dict[str, asyncio.Task[bytes]] = {}

    async def get(self, key: str, output_key: str, convert: Convert) -> bytes:
        """The variant kept at ``key``, else ``convert`` of the output at ``output_key``,
        kept. Requests for a variant being made meanwhile wait for that one. Raises Busy,
        BlobNotFound when the output is gone, and ``convert``'s image errors."""
        if self.cache.enabled:
            kept = await run_in_threadpool(self.cache.get, key)
            if kept is not None:
                return kept
        making = self._making.get(key)
        if making is None:
            making = asyncio.ensure_future(self._make(key, output_key, convert))
            self._making[key] = making
            making.add_done_callback(partial(self._made, key))
        return await asyncio.shield(making)

    async def _make(self, key: str, output_key: str, convert: Convert) -> bytes:
        async with self.gate.slot():
            # fetched only once it is this request's turn: one waiting holds no image
            path = self.blobs.local_path(output_key)
            source = (
                path if path is not None else await run_in_threadpool(self.blobs.get, output_key)
            )
            rendered = await self.gate.convert(partial(convert, source))
        if self.cache.enabled:
            await run_in_threadpool(self.cache.put, key, rendered.data)
        return rendered.data

    def _made(self, key: str, making: asyncio.Task[bytes]) -> None:
        self._making.pop(key, None)
        if not making.cancelled():
            making.exception()  # retrieved, should every request for it have gone

    def close(self) -> None:
        self.gate.close()
