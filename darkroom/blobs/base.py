"""What the service needs from a blob store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class BlobNotFound(KeyError):
    pass


@dataclass(frozen=True)
class BlobEntry:
    key: str
    size: int  # bytes
    modified: float  # when written or last touched, seconds since the epoch


# S3 records a use only by rewriting the object (get's ``touch``): at most this often.
TOUCH_AFTER_S = 60.0

# What a file staged for put_file is named after; a local store lists no such file.
STAGED_PREFIX = ".tmp-upload-"


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key``, replacing what was there, atomically."""

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` at ``key``, replacing what was there, atomically;
        the file is gone afterwards (moved into place, or copied and deleted). A file
        staged in ``staging_folder()`` is moved, not copied."""

    def staging_folder(self) -> Path | None:
        """Where to write a file bound for ``put_file`` (named ``STAGED_PREFIX…``) so
        that it is moved rather than copied; None: anywhere (the system's temporary
        folder)."""

    def remove_stale_staged(self, older_than_s: float) -> int:
        """Delete files staged in ``staging_folder()`` more than ``older_than_s`` ago
        (left by a process that died mid-upload); returns how many."""

    def get(self, key: str, *, touch: bool = False) -> bytes:
        """Return the bytes at ``key``; raise BlobNotFound when absent. ``touch`` records
        the read as a use: the blob's modification time becomes now (a local file's
        mtime; an S3 object is copied onto itself, only when its LastModified is over
        TOUCH_AFTER_S old). A touch that fails is ignored."""

    def local_path(self, key: str) -> Path | None:
        """The blob as a file on this machine, when the store keeps it as one."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with ``prefix``; return how many."""

    def keys(self, prefix: str) -> list[str]: ...

    def entries(self, prefix: str) -> list[BlobEntry]:
        """Every blob whose key starts with ``prefix``, with its size and modification
        time, in key order."""

    def delete(self, key: str) -> None:
        """Delete the blob at ``key``, if there is one."""

    def public_url(self, key: str, base: str) -> str:
        """Where ``key`` is served under ``base``, a public address of the whole store (a
        bucket's public domain, a CDN or a web server in front of it)."""

    def presigned_url(self, key: str, expires_s: int) -> str | None:
        """A URL that lets anyone GET ``key`` straight from the store for ``expires_s``
        seconds; None where the store cannot make one (a local folder)."""

    def check(self) -> None:
        """Raise when the store cannot be reached or written."""
