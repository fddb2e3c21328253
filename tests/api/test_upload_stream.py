"""Multipart uploads are read as they stream in (darkroom/api/upload_stream.py): each
file written once into the blob store's staging folder and hashed on the way; whatever
is refused, halfway or after, leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from darkroom.blobs import LocalBlobStore
from darkroom.blobs.base import STAGED_PREFIX
from darkroom.jobs import keys
from tests.helpers import make_image, on_sqlite

BOUNDARY = "darkroom-test-boundary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
SPEC = {"outputs": [{"name": "t", "op": "thumbnail", "width": 64, "height": 64}]}


def _part(name: str, body: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + body + b"\r\n"


def _body(*parts: bytes, closed: bool = True) -> bytes:
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


def _in_chunks(body: bytes, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _left_behind(api: Any) -> list[str]:
    """Staged files still in the store's folder, and every blob it holds."""
    blobs = api.blobs()
    assert isinstance(blobs, LocalBlobStore)
    staged = [p.name for p in Path(blobs.root).glob(f"{STAGED_PREFIX}*")]
    return staged + blobs.keys("")


def test_files_before_the_spec_are_stored_as_sent(api_factory: Any) -> None:
    first, second = make_image(120, 80), make_image(90, 60, "png")
    body = _body(
        _part("file", first, "a.jpg"),
        _part("file", second, "b.png"),
        _part("spec", json.dumps(SPEC).encode()),
    )
    api = api_factory(workers=0)
    answer = api.client.post("/v1/jobs", content=_in_chunks(body), headers=MULTIPART)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    sources = [(s["filename"], s["bytes"], s["sha256"], s["format"]) for s in job["sources"]]
    assert sources == [
        ("a.jpg", len(first), hashlib.sha256(first).hexdigest(), "jpeg"),
        ("b.png", len(second), hashlib.sha256(second).hexdigest(), "png"),
    ]
    blobs = api.blobs()
    stored = [blobs.get(keys.source_key(job["id"], i)) for i in range(2)]
    assert stored == [first, second]
    if isinstance(blobs, LocalBlobStore):
        assert not list(Path(blobs.root).glob(f"{STAGED_PREFIX}*"))


@on_sqlite
def test_a_file_over_the_limit_is_refused_as_it_streams(api_factory: Any) -> None:
    image = make_image(200, 200, Q=100)
    api = api_factory(workers=0, DARKROOM_MAX_UPLOAD_BYTES=str(len(image) - 1))
    body = _body(_part("spec", json.dumps(SPEC).encode()), _part("file", image, "a.jpg"))
    answer = api.client.post("/v1/jobs", content=_in_chunks(body), headers=MULTIPART)
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "payload_too_large")
    assert _left_behind(api) == []
    assert api.upload(make_image(40, 40)).status_code == 202


@on_sqlite
def test_refused_uploads_leave_nothing_behind(api_factory: Any) -> None:
    image = make_image(64, 64)
    api = api_factory(workers=0, DARKROOM_MAX_SOURCES="2")
    refusals = {
        "cut short": (_body(_part("file", image, "a.jpg"), closed=False), 422, "invalid_request"),
        "a file as text": (_body(_part("file", b"abc")), 422, "invalid_request"),
        "three files": (_body(*[_part("file", image, "a.jpg")] * 3), 422, "invalid_request"),
        "bad spec after": (
            _body(_part("file", image, "a.jpg"), _part("spec", b"{nope")),
            422,
            "invalid_request",
        ),
        "not an image": (_body(_part("file", b"hello" * 100, "a.jpg")), 415, "unsupported_image"),
        "no file": (_body(_part("spec", b"{}")), 422, "missing_source"),
    }
    for why, (body, status, code) in refusals.items():
        answer = api.client.post("/v1/jobs", content=_in_chunks(body, 1000), headers=MULTIPART)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), why
        assert _left_behind(api) == [], why
    too_many = api.client.post("/v1/jobs", content=refusals["three files"][0], headers=MULTIPART)
    assert "Too many files. Maximum number of files is 2." in too_many.json()["error"]["message"]


@on_sqlite
def test_an_upload_replayed_by_its_idempotency_key_is_matched_by_its_digest(
    api_factory: Any,
) -> None:
    image, other = make_image(64, 48), make_image(48, 64)
    api = api_factory(workers=0)
    spec = {**SPEC, "idempotency_key": "upload-1"}
    first = api.upload(image, spec)
    again = api.upload(image, spec)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    conflict = api.upload(other, spec)
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "idempotency_conflict")
    assert _left_behind(api) == [keys.source_key(first.json()["id"], 0)]
