"""The `darkroom` commands that act on jobs (list, cancel, retry, download, status
--follow), how submit names its results, and the mistakes the commands answer in one
line: against one running server for the module."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvips

from tests.helpers import (
    DarkroomProcess,
    LoopbackServer,
    darkroom_env,
    free_port,
    make_image,
    run_cli,
)


@pytest.fixture(scope="module")
def darkroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DarkroomProcess]:
    folder = tmp_path_factory.mktemp("cli-server")
    port = free_port()
    proc = DarkroomProcess(
        args=["serve", "--port", str(port), "--workers", "2"],
        env=darkroom_env(folder / "data", DARKROOM_MAX_ATTEMPTS="1"),
        log_path=folder / "serve.log",
        port=port,
    )
    proc.start(wait_workers=2)
    yield proc
    proc.stop()


def cli(darkroom: DarkroomProcess, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, "--server", darkroom.url, cwd=cwd)


def dimensions(path: Path) -> tuple[int, int]:
    image = pyvips.Image.new_from_file(str(path))
    return image.width, image.height


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    return " ".join(result.stderr.split())


def test_results_of_sources_sharing_a_name_all_survive(
    darkroom: DarkroomProcess, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    for folder in ("a", "b"):
        (photos / folder).mkdir(parents=True)
    (photos / "a" / "x.jpg").write_bytes(make_image(80, 60))
    (photos / "b" / "x.png").write_bytes(make_image(60, 80, "png"))
    (photos / "a" / "x.png").write_bytes(make_image(40, 40, "png"))
    out = tmp_path / "results"
    result = cli(darkroom, "submit", str(photos), "-w", "20", "-f", "png", "--wait", "--out",
                 str(out), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert len(made) == 3, made
    assert "b/x.default.png" in made
    in_a = sorted(dimensions(out / name) for name in made if name.startswith("a/"))
    assert in_a == [(20, 15), (20, 20)]
    assert dimensions(out / "b" / "x.default.png") == (20, 27)


def test_follow_list_download_and_cancel(darkroom: DarkroomProcess, tmp_path: Path) -> None:
    image = tmp_path / "cat.jpg"
    image.write_bytes(make_image(120, 90))
    submitted = cli(darkroom, "submit", "cat.jpg", "-w", "40", "--label", "batch=follow",
                    cwd=tmp_path)  # fmt: skip
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    [job_id] = [line.split()[0] for line in submitted.stdout.splitlines() if "cat.jpg" in line]

    followed = cli(darkroom, "status", job_id, "--follow", cwd=tmp_path)
    assert followed.returncode == 0, followed.stderr
    assert json.loads(followed.stdout)["status"] == "succeeded"
    assert f"{job_id}: succeeded 100%" in followed.stderr.splitlines()

    listed = cli(darkroom, "list", "--label", "batch=follow", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:3] == ["ID", "STATUS", "PROGRESS"]
    assert [row.split()[:3] for row in rows] == [[job_id, "succeeded", "100%"]]
    assert "cat.jpg" in rows[0] and "batch=follow" in rows[0]
    none_failed = cli(darkroom, "list", "--label", "batch=follow", "--status", "failed",
                      cwd=tmp_path)  # fmt: skip
    assert none_failed.stdout.splitlines()[1:] == []

    downloaded = cli(darkroom, "download", job_id, "--out", str(tmp_path / "got"), cwd=tmp_path)
    assert downloaded.returncode == 0, downloaded.stderr
    assert dimensions(tmp_path / "got" / f"{job_id}.default.jpg") == (40, 30)
    unknown = cli(darkroom, "download", job_id, "nope", cwd=tmp_path)
    assert "has no output named 'nope' (it has: default)" in one_line_error(unknown)

    canceled = cli(darkroom, "cancel", job_id, cwd=tmp_path)
    assert canceled.returncode == 0, canceled.stderr
    assert darkroom.job(job_id)["artifacts_deleted"] is True
    missing = cli(darkroom, "cancel", "no-such-job", cwd=tmp_path)
    assert "not_found" in one_line_error(missing)


def test_a_failed_job_retried_succeeds(
    darkroom: DarkroomProcess, loopback: LoopbackServer, tmp_path: Path
) -> None:
    url = loopback.url("/later.jpg")
    job_id = darkroom.submit({"source": {"url": url}, "outputs": [{"op": "thumbnail",
                              "width": 16}]})["id"]  # fmt: skip
    assert darkroom.wait_job(job_id)["status"] == "failed"
    shown = cli(darkroom, "status", job_id, cwd=tmp_path)
    assert shown.returncode == 1

    loopback.serve_bytes("/later.jpg", make_image(64, 64))
    retried = cli(darkroom, "retry", job_id, cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.strip() == f"{job_id}: queued"
    assert darkroom.wait_job(job_id)["status"] == "succeeded"
    again = cli(darkroom, "retry", job_id, cwd=tmp_path)
    assert "invalid_state" in one_line_error(again)


def test_the_servers_validation_details_are_shown(
    darkroom: DarkroomProcess, tmp_path: Path
) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(make_image(32, 32))
    spec = json.dumps({"outputs": [{"op": "resize", "width": -5}]})
    result = cli(darkroom, "submit", str(image), "--spec", spec, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    shown = " ".join(result.stdout.split())
    assert "422 invalid_request" in shown and "outputs.0" in shown and "width" in shown


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("{not json", "Invalid value for --spec: not JSON"),
        ('["a list"]', 'Invalid value for --spec: expected a JSON object ({"outputs"'),
        ("@missing.json", "Invalid value for --spec: cannot read missing.json"),
    ],
)
def test_a_bad_spec_is_one_line(tmp_path: Path, spec: str, says: str) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(make_image(32, 32))
    result = run_cli("submit", str(image), "--spec", spec, "--server", "http://127.0.0.1:9",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert says in one_line_error(result)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = run_cli("submit", "nowhere.jpg", "--server", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2
    assert "Error: no such file, folder or URL: nowhere.jpg" in one_line_error(result)


def test_workers_is_one_name_and_concurrency_still_works(tmp_path: Path) -> None:
    for command in ("serve", "worker"):
        shown = run_cli(command, "--help", cwd=tmp_path).stdout
        assert "--workers" in shown and "--concurrency" not in shown
    old = run_cli("worker", "--concurrency", "0", cwd=tmp_path)
    assert "--concurrency is now --workers" in old.stderr
    assert "Invalid value for --workers: needs at least one worker" in one_line_error(old)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DARKROOM_WORKERS": "abc"}, "Error: DARKROOM_WORKERS: expected an integer, got 'abc'"),
        (
            {"DARKROOM_LOG_FORMAT": "xml"},
            "Error: DARKROOM_LOG_FORMAT: expected one of 'plain' or 'json', got 'xml'",
        ),
    ],
)
def test_a_setting_that_does_not_parse_is_named(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "darkroom", "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env={**darkroom_env(tmp_path / "data"), **env},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert says in result.stderr.splitlines()
