"""The seed 000 service's Node.js sample client, as examples/smartcrop/ has it, run
unchanged against darkroom: it posts its payload, polls job_url every 2 s and downloads
image_url with format, width and quality."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import pyvips

from tests.helpers import make_image

pytestmark = [
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js 18+ is not installed"),
]
CLIENT = Path(__file__).resolve().parents[2] / "examples" / "smartcrop" / "submit_thumbnail_job.mjs"


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(CLIENT), *args], cwd=folder, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("embed", [False, True])
def test_the_sample_client_works_unchanged(serve_factory: Any, tmp_path: Path, embed: bool) -> None:
    folder = tmp_path / "client"
    (folder / "sample-image").mkdir(parents=True)
    for n in range(1, 5):
        (folder / "sample-image" / f"0{n}.webp").write_bytes(make_image(300, 420, "webp"))
    payload = {"image_paths": [f"sample-image/0{n}.webp" for n in range(1, 5)],
               "return_candidates": True}  # fmt: skip
    (folder / "payload.local.json").write_text(json.dumps(payload))
    # Without embedding, the paths are the server's: its input folder is the client's.
    api = serve_factory(workers=1, DARKROOM_DIALECTS="smartcrop", DARKROOM_INPUT_ROOT=str(folder))
    args = ["--api", api.url, "--payload", "payload.local.json", "--output", "out/result.jpg"]
    ran = _run(folder, *args, "--width", "600", "--embed-local-images", str(embed).lower())
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "[ENQUEUE] job_id=" in ran.stdout and "[STATUS] done" in ran.stdout
    assert ("embedded as image_files" in ran.stdout) is embed
    image = pyvips.Image.new_from_buffer((folder / "out" / "result.jpg").read_bytes(), "")
    assert (image.width, image.height) == (600, 338)
    status = json.loads((folder / "out" / "result.jpg.status.json").read_text())
    assert status["status"] == "done"
    assert len(status["result"]["candidates"]) == 4
    assert status["result"]["output_path"] == status["image_url"]

    avif = _run(folder, *args, "--format", "avif", "--quality", "50")
    assert avif.returncode == 0, avif.stdout + avif.stderr
    assert (folder / "out" / "result.jpg").read_bytes()[4:12] == b"ftypavif"


def test_the_client_reports_a_refused_submission(serve_factory: Any, tmp_path: Path) -> None:
    api = serve_factory(workers=0, DARKROOM_DIALECTS="smartcrop")
    (tmp_path / "empty.json").write_text("{}")
    ran = _run(tmp_path, "--api", api.url, "--payload", "empty.json")
    assert ran.returncode == 1
    assert "[ERROR] Submit failed (400)" in ran.stderr
    assert "image_paths, image_path, or image_files is required" in ran.stderr
