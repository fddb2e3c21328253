"""Each blob store test runs against a local folder and a real S3-over-HTTP server."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkroom.blobs import BlobStore, S3BlobStore, open_blobs
from tests.servers import S3


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return open_blobs(str(tmp_path / "b"))
    s3: S3 = request.getfixturevalue("s3")
    return S3BlobStore(s3.new_bucket(), "some/prefix", client=s3.client())
