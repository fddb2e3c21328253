"""Serving outputs as browsers and CDNs expect (docs/api.md, "Serving outputs"): several
formats per output and the one `Accept` prefers, strong ETags and conditional requests,
byte ranges, HEAD, unknown parameters refused, and signed variants."""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate, parsedate_to_datetime
from typing import Any, get_args

import pytest
import pyvips

from darkroom.api.routes.outputs import RequestedFormat
from darkroom.imaging import OutputFormat
from darkroom.signing.variants import signature as signed_with
from tests.helpers import make_image, on_sqlite
from tests.imaging.decodes import recorded_decodes

KEY = "variant-signing-key"
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def _magic(data: bytes) -> str:
    if data[4:12] == b"ftypavif":
        return "avif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return "jpeg" if data[:2] == b"\xff\xd8" else "?"


def _finished(api: Any, output: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The finished job making ``output`` of a small photo, and the output's path."""
    job = api.wait_job(api.upload(make_image(96, 64), {"outputs": [output]}).json()["id"])
    assert job["status"] == "succeeded", job
    return job, f"/v1/jobs/{job['id']}/outputs/{output['name']}"


CARD = {"name": "card", "op": "thumbnail", "width": 48, "formats": ["avif", "webp", "jpeg"]}
PLAIN = {"name": "plain", "op": "convert", "format": "png"}


@on_sqlite
def test_one_decode_makes_every_format_and_accept_picks_one(
    api_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = api_factory(workers=1)
    decodes = recorded_decodes(monkeypatch)  # the worker renders on a thread of this process
    job, url = _finished(api, CARD)
    assert len(decodes) == 1
    [card] = job["outputs"]
    assert card["format"] == "avif" and [f["format"] for f in card["formats"]] == CARD["formats"]
    assert all(f["width"] == 48 and f["bytes"] > 0 for f in card["formats"])
    assert card["formats"][1]["url"].endswith(f"{url}?format=webp")

    def served(accept: str, **params: Any) -> tuple[str, Any]:
        answer = api.client.get(url, params=params, headers={"Accept": accept})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == f"image/{_magic(answer.content)}"
        return _magic(answer.content), answer.headers

    assert served(CHROME)[0] == "avif"
    assert served("image/webp,*/*;q=0.8")[0] == "webp"  # a browser without AVIF
    assert served("image/webp")[0] == "webp"
    assert served("*/*")[0] == "avif"  # the output's own order
    assert served("image/avif;q=0, image/*")[0] == "webp"
    assert served("image/jpeg;q=0.9, image/webp;q=0.5")[0] == "jpeg"
    assert served("text/html")[0] == "avif"  # nothing acceptable: the first, not a 406
    fmt, headers = served("image/webp", format="auto")
    assert fmt == "webp" and headers["vary"] == "Accept"
    webp_tag = headers["etag"]
    assert served(CHROME)[1]["etag"] != webp_tag  # a tag per representation
    fmt, headers = served(CHROME, format="webp")  # a stored format, named: no negotiation
    assert fmt == "webp" and "vary" not in headers and headers["etag"] == webp_tag
    assert api.client.get(url, params={"format": "webp"}).content == (
        api.client.get(url, headers={"Accept": "image/webp"}).content
    )
    fmt, headers = served("image/webp", format="auto", width=20)  # a variant, negotiated
    assert fmt == "webp" and headers["vary"] == "Accept"
    assert served(CHROME, format="png")[0] == "png"  # not stored: converted


def test_the_route_takes_every_output_format() -> None:
    assert set(get_args(RequestedFormat)) == {"auto", *OutputFormat}


@on_sqlite
@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"format": "webp", "formats": ["avif"]}, "not both"),
        ({"formats": ["webp", "webp"]}, "distinct"),
        ({"formats": ["avif", "webp", "jpeg", "png", "gif"]}, "at most 4"),
        ({"formats": []}, "at least 1"),
        ({"formats": ["webp", "jpeg"], "lossless": True}, "lossless"),
    ],
)
def test_formats_are_checked(api_factory: Any, fields: dict[str, Any], problem: str) -> None:
    api = api_factory(workers=0)
    output = {"name": "x", "op": "thumbnail", "width": 20, **fields}
    answer = api.upload(make_image(30, 20), {"outputs": [output]})
    assert answer.status_code == 422 and problem in answer.json()["error"]["message"]


@on_sqlite
def test_conditional_requests(api_factory: Any) -> None:
    api = api_factory(workers=1)
    _job, url = _finished(api, PLAIN)
    first = api.client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"') and first.headers["accept-ranges"] == "bytes"
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "vary" not in first.headers  # one format: Accept makes no difference

    def status(**headers: str) -> int:
        answer = api.client.get(url, headers=headers)
        if answer.status_code == 304:
            assert answer.headers["etag"] == etag and answer.content == b""
            assert answer.headers["cache-control"] == first.headers["cache-control"]
        return int(answer.status_code)

    assert status(**{"If-None-Match": etag}) == 304
    assert status(**{"If-None-Match": f'"other", {etag}'}) == 304
    assert status(**{"If-None-Match": f"W/{etag}"}) == 304  # weak comparison
    assert status(**{"If-None-Match": "*"}) == 304
    assert status(**{"If-None-Match": '"other"'}) == 200
    assert status(**{"If-Modified-Since": modified}) == 304
    earlier = formatdate(parsedate_to_datetime(modified).timestamp() - 60, usegmt=True)
    assert status(**{"If-Modified-Since": earlier}) == 200
    # If-None-Match decides alone when both are sent
    assert status(**{"If-None-Match": '"other"', "If-Modified-Since": modified}) == 200

    variant = api.client.get(url, params={"width": 20})
    assert variant.headers["etag"] != etag
    assert variant.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = api.client.get(
        url, params={"width": 20}, headers={"If-None-Match": variant.headers["etag"]}
    )
    assert again.status_code == 304


@on_sqlite
def test_range_requests_and_head(api_factory: Any) -> None:
    api = api_factory(workers=1)
    _job, url = _finished(api, PLAIN)
    whole = api.client.get(url)
    data, size = whole.content, len(whole.content)

    def ranged(spec: str, **headers: str) -> Any:
        return api.client.get(url, headers={"Range": spec, **headers})

    first = ranged("bytes=0-9")
    assert first.status_code == 206 and first.content == data[:10]
    assert first.headers["content-range"] == f"bytes 0-9/{size}"
    assert (
        first.headers["content-length"] == "10" and first.headers["etag"] == whole.headers["etag"]
    )
    suffix = ranged("bytes=-5")
    assert suffix.status_code == 206 and suffix.content == data[-5:]
    rest = ranged("bytes=10-")
    assert (
        rest.content == data[10:] and rest.headers["content-range"] == f"bytes 10-{size - 1}/{size}"
    )
    beyond = ranged(f"bytes={size}-")
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    assert beyond.json()["error"]["code"] == "range_not_satisfiable"
    several = ranged("bytes=0-1,4-5")
    assert several.status_code == 200 and several.content == data
    assert ranged("bytes=0-9", **{"If-Range": whole.headers["etag"]}).status_code == 206
    assert ranged("bytes=0-9", **{"If-Range": '"other"'}).content == data  # changed: whole
    variant = api.client.get(url, params={"width": 20}, headers={"Range": "bytes=0-3"})
    assert variant.status_code == 206 and variant.content == data[:4]  # PNG's signature too

    head = api.client.head(url)
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "content-length", "etag", "last-modified", "cache-control"):
        assert head.headers[name] == whole.headers[name], name
    head_variant = api.client.head(url, params={"width": 20})
    got_variant = api.client.get(url, params={"width": 20})
    assert head_variant.content == b""
    assert head_variant.headers["content-length"] == str(len(got_variant.content))
    assert head_variant.headers["etag"] == got_variant.headers["etag"]
    assert api.client.head(url, headers={"If-None-Match": whole.headers["etag"]}).status_code == 304


@on_sqlite
def test_unknown_parameters_are_named(api_factory: Any) -> None:
    api = api_factory(workers=1)
    _job, url = _finished(api, PLAIN)
    for params, name in (({"height": 20}, "height"), ({"width": 20, "blurr": 2}, "blurr")):
        answer = api.client.get(url, params=params)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "unknown_parameter" and repr(name) in error["message"]
    assert api.client.get(url, params={"blur": 2}).status_code == 200


def _by_hand(path: str, query: str, key: str) -> str:
    """The documented scheme, written out: HMAC-SHA256 of path?sorted-query, base64url."""
    digest = hmac.new(key.encode(), f"{path}?{query}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _sign(path: str, params: dict[str, str], key: str) -> str:
    return signed_with(key, path, params.items())


@on_sqlite
def test_variants_need_a_signature_when_a_key_is_set(api_factory: Any) -> None:
    api = api_factory(workers=1, DARKROOM_URL_SIGNING_KEY=KEY)
    _job, url = _finished(api, CARD)
    for params in ({}, {"format": "webp"}, {"format": "auto"}):  # as stored: no signature
        assert api.client.get(url, params=params).status_code == 200, params

    wanted = {"width": "20", "format": "png"}
    unsigned = api.client.get(url, params=wanted)
    assert unsigned.status_code == 403 and unsigned.json()["error"]["code"] == "invalid_signature"
    wrong = api.client.get(url, params={**wanted, "signature": _sign(url, wanted, "other key")})
    assert wrong.status_code == 403
    signature = _sign(url, wanted, KEY)
    assert signature == _by_hand(url, "format=png&width=20", KEY)
    signed = api.client.get(url, params={**wanted, "signature": signature})
    assert signed.status_code == 200 and _magic(signed.content) == "png"
    assert pyvips.Image.new_from_buffer(signed.content, "").width == 20
    tampered = api.client.get(url, params={"width": "40", "format": "png", "signature": signature})
    assert tampered.status_code == 403
    # a conditional request of a variant is no way round the signature
    etag = signed.headers["etag"]
    assert api.client.get(url, params=wanted, headers={"If-None-Match": etag}).status_code == 403


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_api_processes_serve_alike(serve_factory: Any, tmp_path: Any) -> None:
    data = tmp_path / "data"
    one = serve_factory(workers=1, data_dir=data, DARKROOM_URL_SIGNING_KEY=KEY)
    two = serve_factory(workers=0, data_dir=data, DARKROOM_URL_SIGNING_KEY=KEY)
    _job, url = _finished(one, CARD)
    wanted = {"width": "24", "format": "auto"}
    signed = {**wanted, "signature": _sign(url, wanted, KEY)}
    answers = []
    for api in (one, two):
        stored = api.client.get(url, headers={"Accept": "image/webp,*/*;q=0.8"})
        assert stored.status_code == 200 and _magic(stored.content) == "webp"
        etag = stored.headers["etag"]
        again = api.client.get(url, headers={"Accept": "image/webp", "If-None-Match": etag})
        assert again.status_code == 304
        variant = api.client.get(url, params=signed, headers={"Accept": "image/webp"})
        assert variant.status_code == 200 and variant.headers["vary"] == "Accept"
        assert api.client.get(url, params=wanted).status_code == 403
        answers.append((stored.content, etag, variant.content, variant.headers["etag"]))
    assert answers[0] == answers[1]
