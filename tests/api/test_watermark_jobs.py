"""Watermarks end to end: a configured name, a file under the input root, another job's
output; refused at submission when they cannot be read, and a job failing cleanly when
one is gone by the time it runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvips

from tests.helpers import on_sqlite
from tests.inprocess import InProcessDarkroom
from tests.keys import as_key, keyed_api

pytestmark = on_sqlite

RED = [255, 0, 0]
GREEN = [0, 255, 0]
WHITE = [255, 255, 255]


def png(width: int, height: int, colour: list[int]) -> bytes:
    image = pyvips.Image.black(width, height, bands=3).new_from_image(colour)
    return bytes(image.copy(interpretation="srgb").cast("uchar").write_to_buffer(".png"))


def colour_at(data: bytes, x: int, y: int) -> list[float]:
    return list(pyvips.Image.new_from_buffer(data, "")(x, y))[:3]


def marked(watermark: dict[str, Any], name: str = "marked", **output: Any) -> dict[str, Any]:
    return {
        "outputs": [
            {"name": name, "op": "convert", "format": "png", **output, "watermark": watermark}
        ]
    }


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    """An input root holding marks/red.png (20x10) and a file that is no image."""
    root = tmp_path / "input"
    (root / "marks").mkdir(parents=True)
    (root / "marks" / "red.png").write_bytes(png(20, 10, RED))
    (root / "marks" / "note.txt").write_text("plain text, no image at all")
    return root


def test_named_and_path_watermarks_land_where_asked(
    api_factory: Any, marks: Path, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(png(40, 20, GREEN))
    api: InProcessDarkroom = api_factory(
        DARKROOM_INPUT_ROOT=str(marks), DARKROOM_WATERMARKS=f"logo={logo}"
    )
    named = {"source": {"name": "logo"}, "gravity": "north_west", "scale": 0.25, "margin": 4}
    by_path = {"source": {"path": "marks/red.png"}, "scale": 0.2, "opacity": 1}
    spec = {
        "outputs": [
            {"name": "named", "op": "convert", "format": "png", "watermark": named},
            {
                "name": "path",
                "op": "thumbnail",
                "width": 100,
                "format": "png",
                "watermark": by_path,
            },
        ]
    }
    job = api.wait_job(api.upload(png(200, 100, WHITE), spec).json()["id"])
    assert job["status"] == "succeeded", job
    named_out = api.client.get(f"/v1/jobs/{job['id']}/outputs/named").content
    assert colour_at(named_out, 4 + 25, 4 + 12) == GREEN  # 50x25 at (4, 4)
    assert colour_at(named_out, 2, 2) == WHITE
    path_out = api.client.get(f"/v1/jobs/{job['id']}/outputs/path").content
    assert colour_at(path_out, 95, 47) == RED  # 20x10 in the south-east corner of 100x50
    assert colour_at(path_out, 75, 47) == WHITE


def test_a_blob_watermark_is_an_output_of_the_same_keys_job(api_factory: Any) -> None:
    with keyed_api(api_factory, workers=1) as (api, keys):
        _, alice = keys.create("alice")
        _, bob = keys.create("bob")

        def upload(key: str, data: bytes, spec: dict[str, Any]) -> httpx.Response:
            files = {"file": ("a.png", data, "application/octet-stream")}
            form = {"spec": json.dumps(spec)}
            return api.client.post("/v1/jobs", files=files, data=form, headers=as_key(key))

        def finished(key: str, job_id: str) -> dict[str, Any]:
            api.client.headers.update(as_key(key))
            try:
                return api.wait_job(job_id)
            finally:
                api.client.headers.pop("Authorization")

        mark_spec = {"outputs": [{"name": "mark", "op": "convert", "format": "png"}]}
        mark_job = finished(alice, upload(alice, png(20, 10, RED), mark_spec).json()["id"])
        assert mark_job["status"] == "succeeded", mark_job
        key = f"jobs/{mark_job['id']}/outputs/mark.png"

        spec = marked({"source": {"blob": key}, "gravity": "centre", "scale": 0.5})
        job = finished(alice, upload(alice, png(40, 40, WHITE), spec).json()["id"])
        assert job["status"] == "succeeded", job
        out = api.client.get(f"/v1/jobs/{job['id']}/outputs/marked", headers=as_key(alice))
        assert colour_at(out.content, 20, 20) == RED
        assert colour_at(out.content, 20, 5) == WHITE

        # another key's output reads exactly as a blob that does not exist
        theirs = upload(bob, png(40, 40, WHITE), spec)
        missing_key = f"jobs/{mark_job['id']}/outputs/none.png"
        missing = upload(alice, png(40, 40, WHITE), marked({"source": {"blob": missing_key}}))
        assert (theirs.status_code, missing.status_code) == (422, 422)
        error = theirs.json()["error"]
        assert error["details"][0]["loc"] == ["outputs", 0, "watermark", "source", "blob"]
        assert error["message"].replace(key, missing_key) == missing.json()["error"]["message"]


@pytest.mark.parametrize(
    ("source", "field", "status"),
    [
        ({"name": "nobody"}, "name", 422),
        ({"path": "marks/absent.png"}, "path", 422),
        ({"path": "../outside.png"}, "path", 422),
        ({"blob": "jobs/no-such-job/outputs/a.png"}, "blob", 422),
        ({"blob": "api_keys/secret"}, "blob", 422),
        ({"path": "marks/note.txt"}, None, 415),
    ],
)
def test_a_watermark_that_cannot_be_read_is_refused_at_submission(
    api_factory: Any, marks: Path, source: dict[str, str], field: str | None, status: int
) -> None:
    (marks.parent / "outside.png").write_bytes(png(4, 4, RED))
    api: InProcessDarkroom = api_factory(workers=0, DARKROOM_INPUT_ROOT=str(marks))
    refused = api.upload(png(40, 40, WHITE), marked({"source": source}))
    assert refused.status_code == status, refused.text
    error = refused.json()["error"]
    assert error["message"].startswith("outputs[0].watermark")
    if field is not None:
        assert error["code"] == "invalid_request"
        assert error["message"].startswith(f"outputs[0].watermark.source.{field}: ")
        assert error["details"][0]["loc"] == ["outputs", 0, "watermark", "source", field]
    else:
        assert error["code"] == "unsupported_image"


def test_a_pair_or_a_smart_gravity_takes_no_watermark(api_factory: Any, marks: Path) -> None:
    api: InProcessDarkroom = api_factory(workers=0, DARKROOM_INPUT_ROOT=str(marks))
    mark = {"source": {"path": "marks/red.png"}}
    pair = {"outputs": [{"name": "cover", "op": "pair", "watermark": mark}]}
    files = [("file", (f"{i}.png", png(20, 30, WHITE), "image/png")) for i in range(2)]
    refused = api.client.post("/v1/jobs", files=files, data={"spec": json.dumps(pair)})
    assert refused.status_code == 422, refused.text
    smart = marked({**mark, "gravity": "attention"})
    assert api.upload(png(40, 40, WHITE), smart).status_code == 422


def test_a_watermark_gone_before_the_job_runs_fails_it_cleanly(
    api_factory: Any, marks: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = {"DARKROOM_INPUT_ROOT": str(marks)}
    submitter: InProcessDarkroom = api_factory(workers=0, data_dir=data, **env)
    spec = marked({"source": {"path": "marks/red.png"}})
    job_id = submitter.upload(png(40, 40, WHITE), spec).json()["id"]
    submitter.stop()
    (marks / "marks" / "red.png").unlink()
    worker: InProcessDarkroom = api_factory(workers=1, data_dir=data, **env)
    job = worker.wait_job(job_id)
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert job["error"]["code"] == "source_unavailable"
    assert "watermark" in job["error"]["message"]
    # the worker lives on: the next job runs
    plain = worker.wait_job(worker.upload(png(40, 40, WHITE)).json()["id"])
    assert plain["status"] == "succeeded"
