"""Blobs as files in a local folder."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from pathlib import Path

from darkroom.blobs.base import STAGED_PREFIX, BlobEntry, BlobNotFound


class LocalBlobStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")  # another file system
        try:
            with os.fdopen(fd, "wb") as copy, open(path, "rb") as original:
                shutil.copyfileobj(original, copy, 1024 * 1024)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        path.unlink(missing_ok=True)

    def staging_folder(self) -> Path | None:
        return self.root

    def remove_stale_staged(self, older_than_s: float) -> int:
        cutoff = time.time() - older_than_s
        removed = 0
        for path in self.root.glob(STAGED_PREFIX + "*"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def get(self, key: str, *, touch: bool = False) -> bytes:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise BlobNotFound(key) from exc
        if touch:  # the clock's own time: the kernel's file times are only tick-fine
            now = time.time_ns()
            with contextlib.suppress(OSError):  # deleted meanwhile, a read-only folder
                os.utime(path, ns=(now, now))
        return data

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFound(key)
        return path

    def public_url(self, key: str, base: str) -> str:
        self._path(key)  # refuses keys outside the store
        return f"{base.rstrip('/')}/{key}"

    def presigned_url(self, key: str, expires_s: int) -> str | None:
        return None

    def keys(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )

    def entries(self, prefix: str) -> list[BlobEntry]:
        found = []
        for key in self.keys(prefix):
            try:
                stat = self._path(key).stat()
            except FileNotFoundError:  # deleted since it was listed
                continue
            found.append(BlobEntry(key, stat.st_size, stat.st_mtime))
        return found

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_file():
            path.unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        found = self.keys(prefix)
        base = self._path(prefix.rstrip("/"))
        if base.is_dir():
            shutil.rmtree(base, ignore_errors=True)
        else:
            for key in found:
                self._path(key).unlink(missing_ok=True)
        return len(found)

    def check(self) -> None:
        """Write a few bytes and delete them: a full disk (ENOSPC) or a read-only folder
        raises. Each probe has a name of its own, so concurrent checks do not collide, and
        is deleted whether or not its write went through."""
        fd, probe = tempfile.mkstemp(dir=self.root, prefix=".tmp-readyz-")
        try:
            os.write(fd, b"ok")
        finally:
            os.close(fd)
            os.unlink(probe)
