"""What the service needs from a blob store."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key``, replacing what was there, atomically."""

    def get(self, key: str) -> bytes:
        """Return the bytes at ``key``; raise BlobNotFound when absent."""

    def local_path(self, key: str) -> Path | None:
        """The blob as a file on this machine, when the store keeps it as one."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with ``prefix``; return how many."""

    def keys(self, prefix: str) -> list[str]: ...

    def public_url(self, key: str, base: str) -> str:
        """Where ``key`` is served under ``base``, a public address of the whole store (a
        bucket's public domain, a CDN or a web server in front of it)."""

    def presigned_url(self, key: str, expires_s: int) -> str | None:
        """A URL that lets anyone GET ``key`` straight from the store for ``expires_s``
        seconds; None where the store cannot make one (a local folder)."""

    def check(self) -> None:
        """Raise when the store cannot be reached or written."""
