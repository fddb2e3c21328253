"""A full disk under the blob folder or the SQLite database: a submission answers 507
``insufficient_storage`` and keeps nothing, /readyz answers 503 saying why, and the API
accepts again once space is freed. The disk is a real one, a small tmpfs filled up
(tests/small_disk.py); the workers' side is tests/worker/test_full_disk.py."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from tests.helpers import make_image, on_sqlite
from tests.small_disk import fill, small_disk

pytestmark = on_sqlite  # the subject is the local disk, beside SQLite


def _refused(answer: Any) -> None:
    assert answer.status_code == 507, answer.text
    assert answer.json()["error"]["code"] == "insufficient_storage"
    assert "No space left" not in answer.text  # no file system detail for the client


def test_a_full_blob_disk_refuses_jobs_keeps_nothing_and_is_unready(
    api_factory: Any, tmp_path: Path
) -> None:
    image = make_image(64, 48)
    with small_disk(tmp_path / "disk") as disk:
        api = api_factory(workers=0, DARKROOM_STORAGE_URL=str(disk / "blobs"))
        accepted = api.upload(image)
        assert accepted.status_code == 202, accepted.text
        filler = fill(disk)

        _refused(api.upload(image))
        _refused(api.client.post("/v1/jobs", json={"source": {"base64": b64(image)}}))
        ready = api.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["storage"].startswith("error: OSError: [Errno 28] ")
        # the one job accepted before, and its source: nothing of the refused ones
        assert [j["id"] for j in api.client.get("/v1/jobs").json()["jobs"]] == [
            accepted.json()["id"]
        ]
        assert sorted(p.name for p in (disk / "blobs" / "jobs").iterdir()) == [
            accepted.json()["id"]
        ]
        assert [p.name for p in (disk / "blobs").iterdir() if p.name.startswith(".")] == []

        filler.unlink()
        assert api.client.get("/readyz").status_code == 200
        assert api.upload(image).status_code == 202


def test_a_full_database_disk_refuses_jobs_and_deletes_their_sources(
    api_factory: Any, tmp_path: Path
) -> None:
    """SQLite's "database or disk is full" on the insert: 507, and the source already
    stored in the blob folder (on another disk) is deleted again."""
    image = make_image(64, 48)
    blobs = tmp_path / "blobs"
    with small_disk(tmp_path / "disk") as disk:
        api = api_factory(workers=0, data_dir=disk, DARKROOM_STORAGE_URL=str(blobs))
        filler = fill(disk)

        _refused(api.upload(image))
        assert list((blobs / "jobs").iterdir()) == []  # the job's folder went with it

        filler.unlink()
        job = api.upload(image)
        assert job.status_code == 202, job.text
        assert api.job(job.json()["id"])["status"] == "queued"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
