"""Blob storage port and its adapters, chosen by URL."""

from darkroom.blobs.base import BlobEntry, BlobNotFound, BlobStore
from darkroom.blobs.local import LocalBlobStore
from darkroom.blobs.s3 import S3BlobStore


def open_blobs(url: str, *, s3_addressing: str | None = None) -> BlobStore:
    """Open the blob store named by ``url``: a folder path, a ``file://`` URL, or
    ``s3://bucket/prefix`` (``s3_addressing``: auto, path or virtual; default: path with a
    custom AWS_ENDPOINT_URL, else auto)."""
    if url.startswith("file://"):
        return LocalBlobStore(url.removeprefix("file://"))
    if url.startswith("s3://"):
        return S3BlobStore.from_url(url, addressing=s3_addressing)
    if "://" in url:
        raise ValueError(f"unsupported storage URL: {url!r} (a folder path or s3://bucket/prefix)")
    return LocalBlobStore(url)


__all__ = ["BlobEntry", "BlobNotFound", "BlobStore", "LocalBlobStore", "S3BlobStore", "open_blobs"]
