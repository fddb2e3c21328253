"""Presets (DARKROOM_PRESETS, darkroom/jobs/presets.py): named output specs a job's output
names, its own fields overriding the preset's; a presets file that cannot be used stops
darkroom at start, saying where and why."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pyvips

from darkroom.jobs.presets import PresetError, read_presets
from darkroom.signing.variants import signature as signature_of
from tests.helpers import darkroom_env, free_port, make_image, on_sqlite
from tests.inprocess import InProcessDarkroom

PRESETS_TOML = """
[card]
op = "cover"
width = 40
height = 30
format = "webp"
quality = 70

[thumb]
op = "thumbnail"
width = 20
unsigned = true

[hero]
op = "thumbnail"
width = 30
formats = ["avif", "webp"]
rotate = 90
"""
KEY = "preset-signing-key"


@pytest.fixture
def presets_file(tmp_path: Path) -> Path:
    path = tmp_path / "presets.toml"
    path.write_text(PRESETS_TOML)
    return path


@on_sqlite  # the subject is the request, not the engines
def test_an_output_takes_its_presets_fields_under_its_own(
    api_factory: Any, presets_file: Path
) -> None:
    api: InProcessDarkroom = api_factory(workers=1, DARKROOM_PRESETS=str(presets_file))
    spec = {
        "outputs": [
            {"name": "a", "preset": "card"},
            {"name": "b", "preset": "card", "format": "png", "width": 60, "height": 20},
        ]
    }
    job = api.wait_job(api.upload(make_image(200, 100), spec).json()["id"])
    assert job["status"] == "succeeded", job
    made = {o["name"]: (o["format"], o["width"], o["height"]) for o in job["outputs"]}
    assert made == {"a": ("webp", 40, 30), "b": ("png", 60, 20)}
    # as JSON too, and the job remembers which preset each output came from
    body = {"source": {"base64": _b64(make_image(200, 100))}, "outputs": [{"preset": "thumb"}]}
    again = api.wait_job(api.client.post("/v1/jobs", json=body).json()["id"])
    assert (again["outputs"][0]["width"], again["outputs"][0]["height"]) == (20, 10)


@on_sqlite
def test_an_unknown_preset_is_refused_naming_it(api_factory: Any, presets_file: Path) -> None:
    api: InProcessDarkroom = api_factory(workers=0, DARKROOM_PRESETS=str(presets_file))
    answer = api.upload(make_image(20, 20), {"outputs": [{"preset": "poster"}]})
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert "no preset named 'poster'" in message and "card, hero, thumb" in message
    without: InProcessDarkroom = api_factory(workers=0)
    answer = without.upload(make_image(20, 20), {"outputs": [{"preset": "card"}]})
    assert answer.status_code == 422
    assert "none are configured" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("text", "suffix", "says"),
    [
        (
            '[card]\nop = "cover"\nwidth = 40\n',
            ".toml",
            "preset 'card': its fields: Value error, op 'cover' needs both",
        ),
        ('{"card": {"blur": 900}}', ".json", "preset 'card': blur: Input should be less than"),
        ('{"card": {"name": "x"}}', ".json", "preset 'card' cannot set 'name'"),
        ('{"card": {"shadow": 1}}', ".json", "preset 'card': shadow: Extra inputs"),
        ("[card\n", ".toml", "is not valid"),
        ('{"card": {"unsigned": "yes"}}', ".json", "unsigned must be true or false"),
    ],
)
def test_a_presets_file_that_cannot_be_used_is_refused_saying_why(
    tmp_path: Path, text: str, suffix: str, says: str
) -> None:
    path = tmp_path / f"presets{suffix}"
    path.write_text(text)
    with pytest.raises(PresetError) as refused:
        read_presets(path)
    assert says in str(refused.value)


def test_serve_refuses_to_start_on_a_bad_presets_file(tmp_path: Path) -> None:
    bad = tmp_path / "presets.json"
    bad.write_text(json.dumps({"card": {"op": "resize"}}))
    env = darkroom_env(tmp_path / "data", DARKROOM_PRESETS=str(bad))
    started = subprocess.run(
        [sys.executable, "-m", "darkroom", "serve", "--port", str(free_port()), "--workers", "0"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode != 0
    assert "DARKROOM_PRESETS: preset 'card'" in started.stderr
    assert "Traceback" not in started.stderr


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@on_sqlite
def test_an_output_giving_format_replaces_a_presets_formats(
    api_factory: Any, presets_file: Path
) -> None:
    api: InProcessDarkroom = api_factory(workers=1, DARKROOM_PRESETS=str(presets_file))
    spec = {"outputs": [{"name": "h", "preset": "hero", "format": "png"}]}
    job = api.wait_job(api.upload(make_image(80, 40), spec).json()["id"])
    assert job["status"] == "succeeded", job
    [made] = job["outputs"]
    assert (made["format"], made["width"], made["height"]) == ("png", 30, 60)
    assert made.get("formats") is None


@on_sqlite
def test_a_preset_asks_for_a_variant_signed_unless_it_says_so(
    api_factory: Any, presets_file: Path
) -> None:
    api: InProcessDarkroom = api_factory(
        workers=1, DARKROOM_PRESETS=str(presets_file), DARKROOM_URL_SIGNING_KEY=KEY
    )
    spec = {"outputs": [{"name": "page", "op": "convert", "format": "png"}]}
    job = api.wait_job(api.upload(make_image(80, 40), spec).json()["id"])
    url = f"/v1/jobs/{job['id']}/outputs/page"

    thumb = api.client.get(url, params={"preset": "thumb"})  # unsigned = true
    assert thumb.status_code == 200, thumb.text
    assert pyvips.Image.new_from_buffer(thumb.content, "").width == 20
    # anything beside it is a variant of the caller's choosing: signed again
    assert api.client.get(url, params={"preset": "thumb", "width": 30}).status_code == 403

    assert api.client.get(url, params={"preset": "hero"}).status_code == 403
    signature = signature_of(KEY, url, [("preset", "hero")])
    hero = api.client.get(
        url, params={"preset": "hero", "signature": signature}, headers={"Accept": "image/webp"}
    )
    assert hero.status_code == 200
    assert hero.headers["content-type"] == "image/webp" and hero.headers["vary"] == "Accept"
    image = pyvips.Image.new_from_buffer(hero.content, "")
    assert (image.width, image.height) == (30, 60)  # turned a quarter, then 30 wide

    unknown = api.client.get(url, params={"preset": "poster", "signature": "x"})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_preset"
