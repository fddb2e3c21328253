"""The `darkroom` command against a running server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pyvips

from tests.helpers import DarkroomProcess, LoopbackServer, free_port, make_image, run_cli


def dimensions(path: Path) -> tuple[int, int]:
    image = pyvips.Image.new_from_file(str(path))
    return image.width, image.height


@pytest.fixture
def backend() -> dict[str, str]:
    """The embedded default only: the CLI talks HTTP, and which engines the server uses
    behind it is the API tests' concern."""
    return {}


def test_help_explains_itself(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "worker", "submit", "status", "list", "cancel", "retry", "download"):
        assert command in result.stdout
    submit_help = run_cli("submit", "--help", cwd=tmp_path).stdout
    assert "--wait" in submit_help and "Examples" in submit_help


def test_submit_folder_and_url_wait_and_download(
    server: DarkroomProcess, loopback: LoopbackServer, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    (photos / "nested").mkdir(parents=True)
    (photos / "a.jpg").write_bytes(make_image(400, 300))
    (photos / "nested" / "b.png").write_bytes(make_image(300, 400, "png"))
    (photos / "notes.txt").write_text("not an image")
    url = loopback.serve_bytes("/c.jpg", make_image(500, 500))
    out = tmp_path / "results"
    result = run_cli(
        "submit",
        str(photos),
        url,
        "--server",
        server.url,
        "-w",
        "100",
        "-f",
        "webp",
        "--name",
        "small",
        "--label",
        "run=cli",
        "--wait",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert made == ["a.small.webp", "c.small.webp", "nested/b.small.webp"]
    sizes = {name: dimensions(out / name) for name in made}
    assert sizes == {
        "a.small.webp": (100, 75),
        "nested/b.small.webp": (100, 133),
        "c.small.webp": (100, 100),
    }
    listed = server.client.get("/v1/jobs", params={"label": "run:cli"}).json()["jobs"]
    assert len(listed) == 3


def test_submit_reports_rejections_and_status(server: DarkroomProcess, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    result = run_cli("submit", str(bad), "--server", server.url, cwd=tmp_path)
    assert result.returncode == 1
    assert "unsupported_image" in result.stdout

    job: dict[str, Any] = server.upload(make_image(64, 64)).json()
    status = run_cli("status", job["id"], "--follow", "--server", server.url, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["id"] == job["id"] and shown["status"] == "succeeded"
    missing = run_cli("status", "nope", "--server", server.url, cwd=tmp_path)
    assert missing.returncode != 0
    assert "not_found" in missing.stderr


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(make_image(32, 32))
    closed = f"http://127.0.0.1:{free_port()}"
    for args in (["submit", str(image), "--wait"], ["status", "some-id"]):
        result = run_cli(*args, "--server", closed, cwd=tmp_path)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "cannot reach darkroom" in " ".join(output.split())  # however wide the terminal
        assert "Traceback" not in output


def test_a_setting_only_a_component_can_judge_is_refused_at_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "darkroom", "worker", "--workers", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env={**os.environ, "DARKROOM_WEBHOOK_SECRET": "not-a-secret"},
    )
    assert result.returncode == 2  # click's usage error, no traceback
    assert "DARKROOM_WEBHOOK_SECRET" in result.stderr and "Traceback" not in result.stderr


def test_a_spec_naming_sources_is_refused_in_one_line(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(make_image(32, 32))
    spec = json.dumps({"source": {"url": "http://127.0.0.1:9/x.jpg"}, "outputs": []})
    result = run_cli(
        "submit", str(image), "--spec", spec, "--server", "http://127.0.0.1:9", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "its 'source' is not taken: name the images as arguments" in " ".join(
        result.stderr.split()
    )
    assert "Traceback" not in result.stdout + result.stderr
