"""examples/smartcrop/client.mjs, run with ``node`` against darkroom's smartcrop dialect: it
submits server paths or uploaded files, follows the job to its end and saves the cover,
in JPEG or AVIF, at a chosen width and quality."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import pyvips

from tests.helpers import make_image

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js 20+ is not installed")
sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
CLIENT = Path(__file__).resolve().parents[2] / "examples" / "smartcrop" / "client.mjs"
PAGES = [f"pages/0{n}.webp" for n in range(1, 5)]


def _client(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(CLIENT), *args], cwd=folder, capture_output=True, text=True, timeout=120
    )


@sqlite
@pytest.mark.parametrize("upload", [False, True], ids=["server-paths", "uploaded-files"])
def test_the_client_saves_the_cover(serve_factory: Any, tmp_path: Path, upload: bool) -> None:
    folder = tmp_path / "client"
    (folder / "pages").mkdir(parents=True)
    for page in PAGES:
        (folder / page).write_bytes(make_image(300, 420, "webp"))
    # Server paths are read from darkroom's input folder, which here is the client's too;
    # uploaded files are read by the client and sent as image_files.
    api = serve_factory(workers=1, DARKROOM_DIALECTS="smartcrop", DARKROOM_INPUT_ROOT=str(folder))
    common = ["--url", api.url, "--every", "0.2", *(["--upload"] if upload else [])]

    ran = _client(folder, *common, "--candidates", "--width", "600", "-o", "out/cover.jpg", *PAGES)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    sent = "4 uploaded image(s)" if upload else "4 server path(s)"
    assert f"submitted {sent} as job " in ran.stderr
    assert " is done" in ran.stderr and "saved out/cover.jpg (jpg, " in ran.stderr
    image = pyvips.Image.new_from_buffer((folder / "out" / "cover.jpg").read_bytes(), "")
    assert (image.width, image.height) == (600, 338)
    job = json.loads(ran.stdout)  # the finished job, as GET /job/{id} answered it
    assert job["status"] == "done"
    assert len(job["result"]["candidates"]) == 4
    assert job["result"]["output_path"] == job["image_url"]

    # The format follows the file's extension.
    avif = _client(folder, *common, "--quality", "50", "-o", "out/cover.avif", *PAGES)
    assert avif.returncode == 0, avif.stdout + avif.stderr
    assert (folder / "out" / "cover.avif").read_bytes()[4:12] == b"ftypavif"


@sqlite
def test_the_client_reports_a_refused_submission(serve_factory: Any, tmp_path: Path) -> None:
    # No DARKROOM_INPUT_ROOT: darkroom reads no server paths at all.
    api = serve_factory(workers=0, DARKROOM_DIALECTS="smartcrop")
    ran = _client(tmp_path, "--url", api.url, "pages/01.webp")
    assert ran.returncode == 1
    # The client passes on darkroom's own reason.
    assert "client.mjs: submit: darkroom answered 403: " in ran.stderr
    assert "DARKROOM_INPUT_ROOT" in ran.stderr
    assert ran.stdout == ""
    assert not (tmp_path / "cover.jpg").exists()


def test_the_client_checks_its_arguments(tmp_path: Path) -> None:
    for args, message in [
        ([], "name at least one image"),
        (["--format", "png", "a.jpg"], "--format: jpg or avif, not png"),
        (["--quality", "101", "a.jpg"], "--quality: expected a number from 0 to 100"),
    ]:
        ran = _client(tmp_path, "--url", "http://127.0.0.1:9", *args)
        assert ran.returncode == 2, ran.stderr
        assert message in ran.stderr
