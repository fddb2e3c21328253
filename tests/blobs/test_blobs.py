from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from darkroom.blobs import BlobNotFound, BlobStore, LocalBlobStore, S3BlobStore, open_blobs
from darkroom.blobs.s3 import addressing_style
from tests.servers import S3


def test_put_get_delete_prefix(blobs: BlobStore, tmp_path: Path) -> None:
    blobs.put("jobs/1/a.webp", b"one")
    blobs.put("jobs/1/sub/b.webp", b"two")
    blobs.put("jobs/2/a.webp", b"three")
    blobs.put("jobs/1/a.webp", b"uno")
    assert blobs.get("jobs/1/a.webp") == b"uno"
    assert blobs.keys("jobs/1/") == ["jobs/1/a.webp", "jobs/1/sub/b.webp"]
    assert blobs.delete_prefix("jobs/1/") == 2
    assert blobs.keys("jobs/1/") == []
    assert blobs.get("jobs/2/a.webp") == b"three"
    with pytest.raises(BlobNotFound):
        blobs.get("jobs/1/a.webp")
    blobs.check()
    assert not list((tmp_path / "b").glob(".tmp-*"))  # local: no temporary file left


def test_a_prefix_keeps_stores_apart(s3: S3) -> None:
    bucket = s3.new_bucket()
    one = S3BlobStore(bucket, "one", client=s3.client())
    two = S3BlobStore(bucket, "two/", client=s3.client())
    one.put("jobs/1/a.webp", b"1")
    two.put("jobs/1/a.webp", b"2")
    assert (one.get("jobs/1/a.webp"), two.get("jobs/1/a.webp")) == (b"1", b"2")
    assert one.delete_prefix("jobs/") == 1
    assert two.keys("jobs/") == ["jobs/1/a.webp"]


def test_s3_urls_name_bucket_and_prefix() -> None:
    store = S3BlobStore.from_url("s3://media/darkroom/prod")
    assert (store.bucket, store.prefix) == ("media", "darkroom/prod/")
    with pytest.raises(ValueError):
        S3BlobStore.from_url("s3:///no-bucket")


def test_keys_cannot_escape(blobs: BlobStore) -> None:
    for key in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(ValueError):
            blobs.put(key, b"x")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError):
        open_blobs("ftp://bucket/x")


@pytest.mark.parametrize(
    ("environ", "style"),
    [
        ({}, "auto"),  # AWS itself
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}, "path"),  # MinIO, Supabase, R2
    ],
)
def test_custom_endpoints_use_path_style_addressing(environ: dict[str, str], style: str) -> None:
    assert addressing_style(environ) == style


def test_addressing_can_be_chosen() -> None:
    store = S3BlobStore.from_url("s3://media/x", addressing="virtual")
    assert store.client.meta.config.s3["addressing_style"] == "virtual"


def test_entries_have_sizes_and_times_and_one_blob_can_go(blobs: BlobStore) -> None:
    blobs.put("jobs/1/variants/a/w1-q0.webp", b"abc")
    blobs.put("jobs/1/outputs/a.webp", b"hello")
    entries = blobs.entries("jobs/1/")
    assert [(e.key, e.size) for e in entries] == [
        ("jobs/1/outputs/a.webp", 5),
        ("jobs/1/variants/a/w1-q0.webp", 3),
    ]
    assert all(abs(e.modified - time.time()) < 86400 for e in entries)  # seconds of the epoch
    assert blobs.get("jobs/1/variants/a/w1-q0.webp", touch=True) == b"abc"
    blobs.delete("jobs/1/variants/a/w1-q0.webp")
    blobs.delete("jobs/1/variants/a/none.webp")  # nothing there: nothing to do
    assert blobs.keys("jobs/1/") == ["jobs/1/outputs/a.webp"]
    assert blobs.entries("jobs/2/") == []


def test_a_touched_read_is_a_use_of_a_local_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("jobs/1/a.webp", b"x")
    os.utime(tmp_path / "jobs/1/a.webp", (1000, 1000))
    store.get("jobs/1/a.webp")  # a plain read is not recorded
    assert store.entries("jobs/1/a.webp")[0].modified == 1000
    store.get("jobs/1/a.webp", touch=True)
    assert store.entries("jobs/1/a.webp")[0].modified > 1000


def test_s3_records_a_use_by_copying_the_object_onto_itself(
    s3: S3, caplog: pytest.LogCaptureFixture
) -> None:
    store = S3BlobStore(s3.new_bucket(), "p", client=s3.client())
    store.put("jobs/1/a.webp", b"x")
    with caplog.at_level(logging.WARNING, logger="darkroom.blobs"):
        store._touch("jobs/1/a.webp")  # what get(touch=True) does to an object over a minute old
    warned = [r for r in caplog.records if r.name == "darkroom.blobs"]
    assert warned == []  # S3 took the copy: the metadata replaced is a change
    assert store.get("jobs/1/a.webp") == b"x"
    assert [e.key for e in store.entries("jobs/")] == ["jobs/1/a.webp"]
