from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError

from darkroom.imaging import Gravity, Operation, OutputFormat
from darkroom.jobs.errors import InvalidRequest, NotFound, PayloadTooLarge
from darkroom.jobs.records import OutputSpec, output_spec
from darkroom.jobs.sources import decode_base64, resolve_input_path
from darkroom.jobs.spec import (
    DEFAULT_OUTPUT,
    JobOptions,
    JobRequest,
    OutputIn,
    request_fingerprint,
)


def test_request_defaults_and_render_spec() -> None:
    req = JobRequest.model_validate({"source": {"url": "https://example.test/a.jpg"}})
    assert req.effective_outputs() == [DEFAULT_OUTPUT]
    out = JobRequest.model_validate(
        {
            "source": {"url": "http://h/a.jpg"},
            "outputs": [
                {
                    "name": "c",
                    "op": "cover",
                    "width": 10,
                    "height": 20,
                    "gravity": "North-East",
                    "format": "avif",
                    "quality": 40,
                }
            ],
        }
    ).effective_outputs()[0]
    spec = out.render_spec()
    assert (spec.op, spec.gravity, spec.format, spec.quality) == (
        Operation.COVER,
        Gravity.NORTH_EAST,
        OutputFormat.AVIF,
        40,
    )
    assert (
        JobRequest.model_validate(
            {
                "source": {"url": "http://h/a"},
                "outputs": [{"op": "cover", "width": 1, "height": 1, "gravity": "center"}],
            }
        )
        .effective_outputs()[0]
        .gravity
        is Gravity.CENTRE
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"source": {"url": "http://h/a"}, "sources": [{"url": "http://h/b"}]},
        {"source": {"url": "http://h/a", "base64": "AAAA"}},
        {"source": {"url": "file:///etc/passwd"}},
        {"source": {"url": "http://h/a"}, "outputs": [{"op": "resize", "width": 5}]},
        {"source": {"url": "http://h/a"}, "outputs": [{"op": "thumbnail"}]},
        {
            "source": {"url": "http://h/a"},
            "outputs": [{"name": "a", "width": 5}, {"name": "a", "width": 6}],
        },
        {"source": {"url": "http://h/a"}, "outputs": [{"name": "../x", "width": 5}]},
        {"source": {"url": "http://h/a"}, "labels": {"a:b": "c"}},
        {"source": {"url": "http://h/a"}, "surprise": 1},
    ],
)
def test_invalid_requests(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        JobRequest.model_validate(body)


def test_fingerprint_ignores_the_key_but_not_the_body() -> None:
    a = JobOptions(idempotency_key="k1", labels={"x": "1"})
    b = JobOptions(idempotency_key="k2", labels={"x": "1"})
    c = JobOptions(idempotency_key="k1", labels={"x": "2"})
    assert request_fingerprint(a, ["s"]) == request_fingerprint(b, ["s"])
    assert request_fingerprint(a, ["s"]) != request_fingerprint(c, ["s"])
    assert request_fingerprint(a, ["s"]) != request_fingerprint(a, ["t"])


def test_base64_forms() -> None:
    raw = bytes(range(256)) * 3
    std = base64.b64encode(raw).decode()
    url_safe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for text in (std, url_safe, f"data:image/png;base64,{std}", std[:40] + "\n" + std[40:]):
        assert decode_base64(text, max_bytes=10_000) == raw
    with pytest.raises(InvalidRequest):
        decode_base64("***", max_bytes=100)
    with pytest.raises(PayloadTooLarge):
        decode_base64(std, max_bytes=100)


def test_input_paths_stay_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.jpg").write_bytes(b"x")
    (tmp_path / "secret.jpg").write_bytes(b"x")
    assert resolve_input_path(root, "sub/a.jpg") == (root / "sub" / "a.jpg").resolve()
    for bad in ("../secret.jpg", "/etc/passwd", "sub/../../secret.jpg"):
        with pytest.raises(InvalidRequest) as info:
            resolve_input_path(root, bad)
        assert info.value.code == "path_not_allowed"
    with pytest.raises(NotFound):
        resolve_input_path(root, "nope.jpg")
    with pytest.raises(InvalidRequest):
        resolve_input_path(None, "sub/a.jpg")


def test_a_path_that_is_no_file_name_is_refused_plainly(tmp_path: Path) -> None:
    for bad in ("x" * 5000 + ".jpg", "a\x00b.jpg"):
        with pytest.raises(InvalidRequest) as info:
            resolve_input_path(tmp_path, bad)
        assert (info.value.code, info.value.status_code) == ("invalid_path", 422)


def test_the_stored_output_spec_names_every_field_of_an_output() -> None:
    """OutputSpec (jobs/records.py) types the spec as stored, OutputIn.model_dump's keys."""
    stored = output_spec(OutputIn(name="t", op=Operation.THUMBNAIL, width=100))
    assert set(OutputSpec.__annotations__) == set(OutputIn.model_fields) == set(stored)
