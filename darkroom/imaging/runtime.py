"""Process-wide concerns of a process that renders one image at a time."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache

import pyvips


def configure_for_worker(threads: int) -> None:
    """Bound libvips' threads and drop its operation cache (no_operation_cache)."""
    pyvips.concurrency_set(max(1, threads))
    no_operation_cache()


def no_operation_cache() -> None:
    """Turn off libvips' operation cache, which would otherwise keep decoded images (up
    to 100 MiB by default) alive between renders: an API process converting outputs on
    the fly does this too."""
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)


def release_freed_memory() -> None:
    """Hand the heap that glibc's malloc keeps after a large decode back to the system.

    libvips frees its ~40 MiB of buffers after a 48 MP PNG, but malloc keeps the pages,
    and the next render's buffers land elsewhere: a worker's peak RSS crept from 110 to
    150-160 MiB over a few renders. ``malloc_trim`` (1-3 ms after such a render) keeps
    it at 110-115 MiB. A no-op where the C library has no ``malloc_trim`` (musl, macOS).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        function = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    trim: Callable[[int], int] = function
    return trim
