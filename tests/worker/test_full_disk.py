"""Workers on a full disk (real ones: small tmpfs mounts filled up, tests/small_disk.py)
wait instead of crash-looping, give a job back without using up its attempts, and finish
everything once space is freed. The API's side is tests/api/test_full_disk.py."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any

from tests.helpers import LoopbackServer, make_image, on_sqlite, wait_until
from tests.small_disk import fill, small_disk


@on_sqlite  # the subject is the local disk, the blob folder's and SQLite's
def test_workers_wait_out_a_full_disk_and_everything_resumes(
    serve_factory: Any, loopback: LoopbackServer, tmp_path: Path
) -> None:
    image = make_image(96, 64)
    gate = threading.Event()  # the sources answer once the disk is full

    def source(handler: http.server.BaseHTTPRequestHandler) -> None:
        gate.wait(30)
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.send_header("Content-Length", str(len(image)))
        handler.end_headers()
        handler.wfile.write(image)

    loopback.routes["/photo.jpg"] = source
    with small_disk(tmp_path / "blobs") as blobs, small_disk(tmp_path / "db") as db:
        server = serve_factory(
            workers=2,
            data_dir=db,
            DARKROOM_STORAGE_URL=str(blobs),
            DARKROOM_MAX_ATTEMPTS="1",  # a counted failure would end a job at once
            DARKROOM_RETRY_BACKOFF_S="0.2",
            DARKROOM_RETRY_BACKOFF_MAX_S="1",
        )
        try:
            _wait_out_a_full_disk(server, loopback, image, gate, blobs, db)
        finally:
            gate.set()
            server.stop()  # while its disks are still mounted


def _wait_out_a_full_disk(
    server: Any,
    loopback: LoopbackServer,
    image: bytes,
    gate: threading.Event,
    blobs: Path,
    db: Path,
) -> None:
    pids = set(server.client.get("/v1/admin/workers").json()["pids"])
    jobs = [server.submit({"source": {"url": loopback.url("/photo.jpg")}})["id"] for _ in range(2)]
    wait_until(lambda: all(server.job(j)["status"] == "processing" for j in jobs), 30)

    # 1. The blob folder's disk is full: the workers cannot store the results.
    blobs_filler = fill(blobs)
    refused = server.upload(image)
    assert refused.status_code == 507, refused.text
    assert refused.json()["error"]["code"] == "insufficient_storage"
    ready = server.client.get("/readyz")
    assert ready.status_code == 503
    assert "No space left on device" in ready.json()["checks"]["storage"]
    gate.set()
    # each job given back, then tried again (and given back again), not failed
    wait_until(lambda: server.log().count("storing a job's results") >= 4, 30)
    for job_id in jobs:
        job = server.job(job_id)
        assert job["status"] in ("queued", "processing"), job
        assert job["attempts"] <= 1 and job["max_attempts"] == 1
        assert job["error"]["code"] == "insufficient_storage"

    # 2. The database's disk too: a worker started now cannot even register.
    db_filler = fill(db)
    resized = server.client.put("/v1/admin/workers", json={"workers": 3})
    assert resized.status_code == 200, resized.text
    wait_until(lambda: "registering the worker" in server.log(), 30)
    pool = server.client.get("/v1/admin/workers").json()
    assert pids < set(pool["pids"]) and pool["alive"] == 3  # none died
    assert "worker died" not in server.log()

    # 3. Space returns: the API accepts again, and every job is done.
    blobs_filler.unlink()
    db_filler.unlink()
    wait_until(lambda: server.client.get("/readyz").status_code == 200, 10)
    later = server.upload(image)
    assert later.status_code == 202, later.text
    for job_id in [*jobs, later.json()["id"]]:
        done = server.wait_job(job_id, 30)
        assert done["status"] == "succeeded", done
        assert done["attempts"] == 1
    pool = server.client.get("/v1/admin/workers").json()
    assert pids < set(pool["pids"]) and len(pool["pids"]) == 3
    assert "worker died" not in server.log()
