"""A real file system small enough to fill: a tmpfs of a few MiB mounted for one test.
Mounting needs root (CAP_SYS_ADMIN); where that is refused the test is skipped, saying
so. Filling it takes one file written until the kernel answers ENOSPC."""

from __future__ import annotations

import errno
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHUNK = 64 * 1024


@contextmanager
def small_disk(path: Path, size_mib: int = 8) -> Iterator[Path]:
    """A tmpfs of ``size_mib`` MiB mounted at ``path`` while the block runs."""
    path.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("a full disk is made with a small tmpfs: `mount` is not installed")
    mounted = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            "a full disk is made with a small tmpfs, and mounting one needs root "
            f"(CAP_SYS_ADMIN): {mounted.stderr.strip()}"
        )
    try:
        yield path
    finally:
        # lazily: a process of the test that still holds a file open cannot keep it
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk`` with one file; delete the file to free them."""
    filler = disk / "filler"
    with filler.open("ab", buffering=0) as f:  # unbuffered: a short write, then ENOSPC
        try:
            while True:
                f.write(b"\0" * CHUNK)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler
