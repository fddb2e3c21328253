"""The chapter cover (op "pair") through the service, on generated chapters."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest
import pyvips

from eval.pages import chapter
from tests.helpers import make_image

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _pages(seed: int, count: int) -> tuple[list[str], list[str]]:
    pages = chapter(np.random.default_rng(seed), count)
    encoded = [
        base64.b64encode(
            pyvips.Image.new_from_array(p.pixels, interpretation="srgb").jpegsave_buffer(Q=85)
        ).decode()
        for p in pages
    ]
    return encoded, [p.kind for p in pages]


def test_a_chapter_gets_a_cover_of_two_art_pages(api_factory: Any) -> None:
    api = api_factory(workers=1, THUMBNAIL_PAIR_WIDTH="960", THUMBNAIL_PAIR_GAP="8")
    pages, kinds = _pages(seed=11, count=10)
    outputs = [
        {"name": "cover", "op": "pair", "return_candidates": True, "format": "webp"},
        {"name": "thumb", "op": "thumbnail", "width": 64},
    ]
    job = api.submit({"sources": [{"base64": p} for p in pages], "outputs": outputs})
    done = api.wait_job(job["id"], timeout_s=120)
    assert done["status"] == "succeeded", done
    by_name = {o["name"]: o for o in done["outputs"]}
    assert {f"thumb-{i}" for i in range(10)} <= set(by_name)
    cover = by_name["cover"]
    assert (cover["op"], cover["source"], cover["format"]) == ("pair", None, "webp")
    assert (cover["width"], cover["height"]) == (960, 540)  # the seed's variables, honoured
    pair = cover["pair"]
    picked = [p["index"] for p in pair["picked"]]
    assert all(kinds[i] == "art" for i in picked), (picked, kinds, pair["candidates"])
    assert not any(p["in_edge"] for p in pair["picked"])
    assert pair["picked"][0]["score"] >= pair["picked"][1]["score"]
    assert pair["fallback_used"] is False and pair["warning"] is None
    assert [c["index"] for c in pair["candidates"]] == list(range(10))
    assert all(c["in_edge"] for c in pair["candidates"] if c["index"] in (0, 1, 8, 9))
    text_pages = [c for c in pair["candidates"] if kinds[c["index"]] == "text"]
    assert text_pages and min(c["text_ratio"] for c in text_pages) > 0.1
    image = pyvips.Image.new_from_buffer(api.client.get(cover["url"]).content, "")
    assert (image.width, image.height) == (960, 540)
    gap = image.crop(476, 0, 8, 540)  # the halves are 476 wide, then the gap
    assert gap.max() < 16  # black


def test_pair_requests_are_checked(api_factory: Any) -> None:
    api = api_factory(workers=0)
    one = {"base64": base64.b64encode(make_image(64, 96)).decode()}
    pair = {"name": "cover", "op": "pair"}
    alone = api.client.post("/v1/jobs", json={"sources": [one], "outputs": [pair]})
    assert (alone.status_code, alone.json()["error"]["code"]) == (422, "invalid_request")
    tall = api.client.post(
        "/v1/jobs", json={"sources": [one, one], "outputs": [{**pair, "height": 10}]}
    )
    assert tall.status_code == 422
