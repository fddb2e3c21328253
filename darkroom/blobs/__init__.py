"""Blob storage port and its adapters, chosen by URL."""

from darkroom.blobs.base import BlobNotFound, BlobStore
from darkroom.blobs.local import LocalBlobStore


def open_blobs(url: str) -> BlobStore:
    """Open the blob store named by ``url``: a folder path or ``file://`` URL."""
    if url.startswith("file://"):
        return LocalBlobStore(url.removeprefix("file://"))
    if "://" in url:
        raise ValueError(f"unsupported storage URL: {url!r} (expected a folder path)")
    return LocalBlobStore(url)


__all__ = ["BlobNotFound", "BlobStore", "LocalBlobStore", "open_blobs"]
