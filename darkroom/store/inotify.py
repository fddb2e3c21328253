"""Being woken when a file is written to, by Linux's inotify (through libc; no package).

``FileWrites.open`` answers None where inotify is not available (another system, or a
libc without it); the caller then looks at the file on a timer instead."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger("darkroom.store")

IN_MODIFY = 0x00000002
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = 0o2000000


class FileWrites:
    """Writes to one file, as the kernel reports them; read on the running event loop."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._written = asyncio.Event()
        asyncio.get_running_loop().add_reader(fd, self._drain)

    @classmethod
    def open(cls, path: str) -> FileWrites | None:
        """Watch ``path`` (which must exist) on the running event loop."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "inotify_init1")
            if libc.inotify_add_watch(fd, os.fsencode(path), IN_MODIFY) < 0:
                errno = ctypes.get_errno()
                os.close(fd)
                raise OSError(errno, os.strerror(errno), path)
        except (OSError, AttributeError):
            log.info("cannot watch %s for writes; looking at it on a timer", path, exc_info=True)
            return None
        return cls(fd)

    async def wait(self, timeout_s: float) -> bool:
        """True when the file was written to since the last call, at once or within
        ``timeout_s``; False when the time ran out."""
        if not self._written.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._written.wait()
        written = self._written.is_set()
        self._written.clear()
        return written

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self._fd)
        os.close(self._fd)

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._fd, 65536):
                pass
        self._written.set()
