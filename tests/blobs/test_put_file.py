"""BlobStore.put_file, which takes an upload staged by the API (api/upload_stream.py):
the file's bytes end at the key and the file is gone; a local store moves a file staged
in its own folder, and never lists one."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from darkroom.blobs import BlobStore, LocalBlobStore
from darkroom.blobs.base import STAGED_PREFIX
from darkroom.store import JobStore, open_engine
from darkroom.sweeper import STAGED_MAX_AGE_S, RetentionSweeper


def _staged(blobs: BlobStore, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(dir=blobs.staging_folder(), prefix=STAGED_PREFIX)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    return Path(name)


def test_put_file_stores_the_bytes_and_takes_the_file(blobs: BlobStore) -> None:
    blobs.put("jobs/1/sources/0", b"old")
    staged = _staged(blobs, b"new bytes")
    assert blobs.keys("") == ["jobs/1/sources/0"]  # a staged file is no blob
    blobs.put_file("jobs/1/sources/0", staged)
    assert blobs.get("jobs/1/sources/0") == b"new bytes"
    assert not staged.exists()


def test_a_local_store_moves_what_is_staged_in_its_folder(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "b")
    assert blobs.staging_folder() == blobs.root
    staged = _staged(blobs, b"x" * 1000)
    inode = staged.stat().st_ino
    blobs.put_file("jobs/2/sources/0", staged)
    path = blobs.local_path("jobs/2/sources/0")
    assert path is not None and path.stat().st_ino == inode
    elsewhere = tmp_path / "elsewhere"  # same file system here: moved all the same
    elsewhere.write_bytes(b"y")
    blobs.put_file("jobs/2/sources/1", elsewhere)
    assert (blobs.get("jobs/2/sources/1"), elsewhere.exists()) == (b"y", False)


def test_a_file_on_another_file_system_is_copied_then_deleted(tmp_path: Path) -> None:
    other = Path("/dev/shm")
    if not other.is_dir() or other.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system to stage on")
    blobs = LocalBlobStore(tmp_path / "b")
    fd, name = tempfile.mkstemp(dir=other, prefix="darkroom-test-")
    with os.fdopen(fd, "wb") as file:
        file.write(b"z" * 5000)
    blobs.put_file("jobs/3/sources/0", Path(name))
    assert blobs.get("jobs/3/sources/0") == b"z" * 5000
    assert not Path(name).exists()
    assert not list(blobs.root.rglob(".tmp-*"))


def test_the_sweeper_deletes_uploads_staged_by_a_process_that_died(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "b")
    abandoned, receiving = _staged(blobs, b"left behind"), _staged(blobs, b"arriving")
    an_hour_ago = time.time() - STAGED_MAX_AGE_S - 60
    os.utime(abandoned, (an_hour_ago, an_hour_ago))
    blobs.put("jobs/1/sources/0", b"kept")
    sweeper = RetentionSweeper(
        JobStore(open_engine(f"sqlite:///{tmp_path}/db")), blobs, interval_s=60
    )
    sweeper.sweep()
    assert (abandoned.exists(), receiving.exists()) == (False, True)
    assert blobs.get("jobs/1/sources/0") == b"kept"
