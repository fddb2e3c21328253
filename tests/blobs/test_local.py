from __future__ import annotations

from pathlib import Path

import pytest

from darkroom.blobs import BlobNotFound, open_blobs


def test_put_get_delete_prefix(tmp_path: Path) -> None:
    blobs = open_blobs(str(tmp_path / "b"))
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
    assert not list((tmp_path / "b").glob(".tmp-*"))


def test_keys_cannot_escape(tmp_path: Path) -> None:
    blobs = open_blobs(f"file://{tmp_path / 'b'}")
    for key in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(ValueError):
            blobs.put(key, b"x")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError):
        open_blobs("ftp://bucket/x")
