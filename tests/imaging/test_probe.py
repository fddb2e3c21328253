from __future__ import annotations

import hashlib
import importlib
import time
from pathlib import Path

import pytest

from darkroom.imaging import (
    CorruptImage,
    ImageTooLarge,
    Limits,
    RenderSpec,
    SourceUnreadable,
    UnsupportedImage,
    probe,
    render,
)
from darkroom.imaging.formats import sniff
from darkroom.imaging.spec import Operation
from tests.imaging.conftest import AsInput
from tests.imaging.samples import (
    BLUE,
    GREEN,
    RED,
    animation,
    jpeg_claiming,
    noise,
    png_claiming,
    save,
    solid,
    with_fields,
)

LIMITS = Limits()

probe_module = importlib.import_module("darkroom.imaging.probe")


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        (".jpg", "jpeg"),
        (".png", "png"),
        (".webp", "webp"),
        (".gif", "gif"),
        (".avif", "avif"),
        (".tif", "tiff"),
    ],
)
def test_probe_reads_format_size_and_hash(as_input: AsInput, suffix: str, expected: str) -> None:
    data = save(solid(48, 32, RED), suffix)
    facts = probe(as_input(data), LIMITS)
    assert (facts.format, facts.width, facts.height) == (expected, 48, 32)
    assert (facts.orientation, facts.frames, facts.has_icc_profile) == (1, 1, False)
    assert facts.bytes == len(data)
    assert facts.sha256 == hashlib.sha256(data).hexdigest()


def test_probe_takes_a_digest_the_caller_already_has(
    as_input: AsInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = save(solid(48, 32, RED), ".png")
    known = hashlib.sha256(data).hexdigest()
    monkeypatch.setattr(probe_module, "size_and_sha256", lambda _source: pytest.fail("hashed"))
    facts = probe(as_input(data), LIMITS, sha256=known)
    assert (facts.sha256, facts.bytes, facts.width) == (known, len(data), 48)


def test_heif_and_avif_are_told_apart_by_brand() -> None:
    def ftyp(major: bytes, *compatible: bytes) -> bytes:
        body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
        return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00" * 16

    assert sniff(ftyp(b"heic", b"mif1", b"heic")) == "heif"
    assert sniff(ftyp(b"mif1", b"mif1", b"avif")) == "avif"
    assert sniff(ftyp(b"isom", b"isom", b"mp41")) is None  # an MP4 video


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_quarter_turn_orientations_swap_displayed_sides(
    as_input: AsInput, orientation: int
) -> None:
    data = save(with_fields(solid(60, 40, RED), orientation=orientation), ".jpg")
    facts = probe(as_input(data), LIMITS)
    assert (facts.width, facts.height, facts.orientation) == (40, 60, orientation)


def test_upside_down_orientation_keeps_sides() -> None:
    facts = probe(save(with_fields(solid(60, 40, RED), orientation=3), ".jpg"), LIMITS)
    assert (facts.width, facts.height, facts.orientation) == (60, 40, 3)


def test_embedded_colour_profile_is_reported(as_input: AsInput) -> None:
    p3 = solid(20, 20, GREEN).icc_transform("p3", input_profile="srgb")
    assert probe(as_input(save(p3, ".jpg")), LIMITS).has_icc_profile
    assert probe(as_input(save(p3, ".png")), LIMITS).has_icc_profile
    assert not probe(as_input(save(solid(20, 20, GREEN), ".png")), LIMITS).has_icc_profile


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_animation_frames_are_counted(as_input: AsInput, suffix: str) -> None:
    facts = probe(as_input(save(animation(30, 20, [RED, GREEN, BLUE]), suffix)), LIMITS)
    assert (facts.frames, facts.width, facts.height) == (3, 30, 20)


@pytest.mark.parametrize(
    "data",
    [png_claiming(100_000, 100_000), jpeg_claiming(65_000, 65_000)],
    ids=["png", "jpeg"],
)
def test_decompression_bomb_is_rejected_from_its_header(as_input: AsInput, data: bytes) -> None:
    assert len(data) < 1000
    source = as_input(data)
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge):
        probe(source, LIMITS)
    with pytest.raises(ImageTooLarge):
        render(source, [RenderSpec(Operation.THUMBNAIL, width=100)], LIMITS)
    assert time.perf_counter() - started < 0.5  # decoding 10^10 pixels would take minutes


def test_each_limit_is_enforced(as_input: AsInput) -> None:
    data = as_input(save(animation(100, 50, [RED, GREEN, BLUE]), ".gif"))
    assert probe(data, LIMITS).frames == 3
    with pytest.raises(ImageTooLarge, match="pixels"):
        probe(data, Limits(max_source_pixels=4_999))
    with pytest.raises(ImageTooLarge, match="side"):
        probe(data, Limits(max_source_dimension=99))
    with pytest.raises(ImageTooLarge, match="frames"):
        probe(data, Limits(max_frames=2))


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',  # an SVG with no size to rasterise at
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"1,2,3\n4,5,6\n",  # libvips' CSV loader would take this
        b"2 2\n1 2\n3 4\n",  # and this, as a matrix
        b"\x08\xf2\xa6\xb6" + bytes(60),  # native .vips header
        bytes(range(256)) * 4,
        b"",
    ],
    ids=["svg", "svg-xml", "pdf", "csv", "matrix", "vips", "random", "empty"],
)
def test_other_content_is_unsupported(as_input: AsInput, data: bytes) -> None:
    with pytest.raises(UnsupportedImage) as caught:
        probe(as_input(data), LIMITS)
    assert caught.value.code == "unsupported_image"


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".gif"])
def test_cut_off_header_is_corrupt(as_input: AsInput, suffix: str) -> None:
    data = save(solid(64, 64, RED), suffix)
    with pytest.raises(CorruptImage) as caught:
        probe(as_input(data[:20]), LIMITS)
    assert caught.value.code == "corrupt_image"


def test_probe_reads_only_the_header(as_input: AsInput) -> None:
    data = as_input(jpeg_claiming(20_000, 2_000))  # 40 MP claimed, 16x16 actually present
    started = time.perf_counter()
    facts = probe(data, LIMITS)
    assert time.perf_counter() - started < 0.05
    assert (facts.width, facts.height) == (20_000, 2_000)


def test_a_file_is_hashed_whole_in_chunks(tmp_path: Path) -> None:
    data = save(noise(700, 500), ".png")
    assert len(data) > 3 * 2**18  # several of hashlib.file_digest's 256 KiB reads
    path = tmp_path / "big.png"
    path.write_bytes(data)
    facts = probe(path, LIMITS)
    assert facts == probe(data, LIMITS)
    assert (facts.bytes, facts.sha256) == (len(data), hashlib.sha256(data).hexdigest())


@pytest.mark.parametrize("name", ["missing.jpg", "."], ids=["missing", "directory"])
def test_an_unreadable_file_is_reported_as_unavailable(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    for attempt in (
        lambda: probe(path, LIMITS),
        lambda: render(path, [RenderSpec(Operation.THUMBNAIL, width=10)], LIMITS),
    ):
        with pytest.raises(SourceUnreadable) as caught:
            attempt()
        assert caught.value.code == "source_unavailable"
        assert str(path) in str(caught.value)


def test_other_source_types_are_refused() -> None:
    with pytest.raises(TypeError, match=r"bytes or a pathlib\.Path"):
        probe(str(Path("image.jpg")), LIMITS)  # type: ignore[arg-type]
