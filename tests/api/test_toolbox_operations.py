"""The geometry and filter fields of an output through the API: validated at submission
with the field named, unknown fields refused, and made by a worker as asked."""

from __future__ import annotations

import io
from typing import Any

import pytest
import pyvips
from PIL import Image

from tests.helpers import make_image, on_sqlite
from tests.inprocess import InProcessDarkroom

pytestmark = on_sqlite  # the subject is the request and the pixels, not the engines


def _error(answer: Any) -> tuple[int, str, str]:
    error = answer.json()["error"]
    return answer.status_code, error["code"], error["message"]


@pytest.mark.parametrize(
    ("output", "field"),
    [
        ({"rotate": 45}, "rotate"),
        ({"flip": "diagonal"}, "flip"),
        ({"region": {"x": 0, "y": 0, "width": 0, "height": 5}}, "region.width"),
        ({"region": {"x": 0, "y": 0, "width": 5}}, "region.height"),
        ({"blur": 500}, "blur"),
        ({"sharpen": 0.01}, "sharpen"),
        ({"trim": 300}, "trim"),
        ({"dpr": 5}, "dpr"),
        ({"background": "red"}, "background"),
        ({"fit": "pad", "width": 100}, "fit"),
        ({"fit": "stretch"}, "fit"),
        ({"shadow": True}, "shadow"),  # unknown fields are refused, not ignored
    ],
)
def test_bad_fields_are_refused_with_the_field_named(
    api: InProcessDarkroom, output: dict[str, Any], field: str
) -> None:
    spec = {"outputs": [{"name": "t", "op": "thumbnail", "width": 100, **output}]}
    status, code, message = _error(api.upload(make_image(40, 30), spec))
    assert (status, code) == (422, "invalid_request")
    assert field in message, message


def test_a_region_outside_an_uploaded_source_is_refused_at_submission(
    api: InProcessDarkroom,
) -> None:
    spec = {"outputs": [{"op": "convert", "region": {"x": 30, "y": 0, "width": 20, "height": 10}}]}
    status, code, message = _error(api.upload(make_image(40, 30), spec))
    assert (status, code) == (422, "invalid_spec")
    assert "not inside the 40x30 source" in message


def test_a_dpr_past_the_output_bound_is_refused_at_submission(api_factory: Any) -> None:
    api: InProcessDarkroom = api_factory(workers=0, DARKROOM_MAX_OUTPUT_DIMENSION="1000")
    spec = {"outputs": [{"op": "thumbnail", "width": 600, "dpr": 2}]}
    status, code, message = _error(api.upload(make_image(40, 30), spec))
    assert (status, code) == (422, "output_too_large")
    assert "dpr 2" in message


def test_the_fields_together_make_what_they_say(api: InProcessDarkroom) -> None:
    spec = {
        "outputs": [
            {"name": "turned", "op": "thumbnail", "width": 30, "rotate": 90, "format": "png"},
            {
                "name": "tile",
                "op": "thumbnail",
                "width": 50,
                "height": 50,
                "fit": "pad",
                "background": "#00ff00",
                "format": "jpeg",
            },
            {"name": "retina", "op": "cover", "width": 20, "height": 20, "dpr": 2, "blur": 1},
            {
                "name": "part",
                "op": "convert",
                "region": {"x": 10, "y": 5, "width": 20, "height": 10},
            },
        ]
    }
    job = api.wait_job(api.upload(make_image(80, 40), spec).json()["id"])
    assert job["status"] == "succeeded", job
    sizes = {o["name"]: (o["width"], o["height"]) for o in job["outputs"]}
    assert sizes == {"turned": (30, 60), "tile": (50, 50), "retina": (40, 40), "part": (20, 10)}
    tile = api.client.get(f"/v1/jobs/{job['id']}/outputs/tile").content
    top = pyvips.Image.new_from_buffer(tile, "").getpoint(25, 2)
    assert top[1] > 200 and top[0] < 60 and top[2] < 60  # the green background above it


def test_an_output_converted_on_the_fly_takes_the_operations_too(api: InProcessDarkroom) -> None:
    spec = {"outputs": [{"name": "page", "op": "convert", "format": "png"}]}
    job = api.wait_job(api.upload(make_image(80, 40), spec).json()["id"])
    url = f"/v1/jobs/{job['id']}/outputs/page"
    asked = {"rotate": 90, "width": 10, "dpr": 2, "blur": 1, "format": "jpeg", "progressive": 1}
    turned = api.client.get(url, params=asked)
    assert turned.status_code == 200, turned.text
    image = pyvips.Image.new_from_buffer(turned.content, "")
    assert (image.width, image.height) == (20, 40)  # a 40x80 picture, 10 px wide times 2
    assert b"\xff\xc2" in turned.content  # progressive: a SOF2 frame
    again = api.client.get(url, params=asked)
    assert again.headers["etag"] == turned.headers["etag"] and again.content == turned.content
    plain = api.client.get(url, params={"width": 10})
    assert plain.headers["etag"] != turned.headers["etag"]
    refused = api.client.get(url, params={"rotate": 45})
    assert refused.status_code == 422 and "rotate" in refused.json()["error"]["message"]


def test_a_job_may_ask_for_another_page_of_its_sources(api: InProcessDarkroom) -> None:
    first, second = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (80, 60), "blue")
    pages = io.BytesIO()
    first.save(pages, format="TIFF", save_all=True, append_images=[second])
    spec: dict[str, Any] = {"outputs": [{"name": "p", "op": "convert", "format": "png"}]}
    job = api.wait_job(api.upload(pages.getvalue(), {**spec, "page": 1}).json()["id"])
    assert job["status"] == "succeeded", job
    assert (job["outputs"][0]["width"], job["outputs"][0]["height"]) == (80, 60)
    assert (job["sources"][0]["width"], job["sources"][0]["frames"]) == (80, 2)
    status, code, message = _error(api.upload(pages.getvalue(), {**spec, "page": 2}))
    assert (status, code) == (422, "invalid_spec")
    assert "the source has 2 pages" in message
