"""Process-wide libvips settings for a process that renders one image at a time."""

from __future__ import annotations

import pyvips


def configure_for_worker(threads: int) -> None:
    """Bound libvips' threads and drop its operation cache, which would otherwise keep
    decoded images alive between jobs."""
    pyvips.concurrency_set(max(1, threads))
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
