"""Blobs as objects in an S3-compatible bucket: AWS S3, Cloudflare R2, MinIO, Supabase.

The client is boto3's, configured the standard way: ``AWS_ENDPOINT_URL`` (for anything
but AWS itself), ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_REGION`` (or
``AWS_DEFAULT_REGION``), or any other source boto3 reads credentials from; path-style
addressing with a custom endpoint (see ``addressing_style``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from darkroom.blobs.base import TOUCH_AFTER_S, BlobEntry, BlobNotFound

_DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes

log = logging.getLogger("darkroom.blobs")


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client if client is not None else default_client(None)

    @classmethod
    def from_url(cls, url: str, *, addressing: str | None = None) -> S3BlobStore:
        """``s3://bucket`` or ``s3://bucket/prefix``; ``addressing`` as in default_client."""
        parts = urlsplit(url)
        if not parts.netloc:
            raise ValueError(f"storage URL {url!r} names no bucket (s3://bucket/prefix)")
        return cls(parts.netloc, parts.path, client=default_client(addressing))

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"blob key escapes the store: {key!r}")
        return self.prefix + key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, path: Path) -> None:
        with open(path, "rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body)
        path.unlink(missing_ok=True)

    def staging_folder(self) -> Path | None:
        return None

    def remove_stale_staged(self, older_than_s: float) -> int:
        return 0  # staged in the system's temporary folder, which is the system's to clear

    def get(self, key: str, *, touch: bool = False) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise BlobNotFound(key) from exc
        body: bytes = response["Body"].read()
        if touch and time.time() - response["LastModified"].timestamp() > TOUCH_AFTER_S:
            self._touch(key)
        return body

    def _touch(self, key: str) -> None:
        """LastModified becomes now: the object copied onto itself (S3 refuses such a
        copy unless something changes; replacing the metadata is that something)."""
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=self._key(key),
                CopySource={"Bucket": self.bucket, "Key": self._key(key)},
                MetadataDirective="REPLACE",
            )
        except Exception as exc:  # a use left unrecorded costs nothing but LRU order
            log.warning("could not touch %s: %s", key, exc)

    def local_path(self, key: str) -> Path | None:
        return None

    def public_url(self, key: str, base: str) -> str:
        return f"{base.rstrip('/')}/{self._key(key)}"

    def presigned_url(self, key: str, expires_s: int) -> str | None:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=expires_s,
        )
        return url

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            found += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
        return sorted(found)

    def entries(self, prefix: str) -> list[BlobEntry]:
        found: list[BlobEntry] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            found += [
                BlobEntry(
                    item["Key"][len(self.prefix) :],
                    int(item["Size"]),
                    item["LastModified"].timestamp(),
                )
                for item in page.get("Contents", [])
            ]
        return sorted(found, key=lambda entry: entry.key)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> int:
        found = self.keys(prefix)
        for start in range(0, len(found), _DELETE_BATCH):
            batch = found[start : start + _DELETE_BATCH]
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self.prefix + k} for k in batch], "Quiet": True},
            )
        return len(found)

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def default_client(addressing: str | None) -> Any:
    """A boto3 S3 client from the standard AWS_* variables; ``addressing`` (auto, path or
    virtual) defaults to addressing_style()'s choice."""
    try:
        import boto3
        from botocore.config import Config
    except ModuleNotFoundError as exc:
        raise RuntimeError("DARKROOM_STORAGE_URL is s3://...: pip install 'darkroom[s3]'") from exc
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        s3={"addressing_style": addressing or addressing_style(os.environ)},
    )
    return boto3.client("s3", region_name=region, config=config)


def addressing_style(environ: Mapping[str, str]) -> str:
    """``path`` (https://host/bucket/key) for a custom endpoint (MinIO, Supabase Storage and
    R2 all accept it; MinIO and Supabase need it), boto3's own choice for AWS itself."""
    return "path" if environ.get("AWS_ENDPOINT_URL") else "auto"
