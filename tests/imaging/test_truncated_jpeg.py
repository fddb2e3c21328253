"""A JPEG whose scan is cut short and then given an end marker (FFD9) decodes, to libjpeg,
with a warning and a grey fill; darkroom refuses it as corrupt on every JPEG decode path,
and still takes JPEGs whose warnings are about nothing in the picture."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from darkroom.imaging import (
    CorruptImage,
    Gravity,
    Limits,
    Operation,
    OutputFormat,
    PairSpec,
    RenderSpec,
    compose_pair,
    probe,
    render,
)
from darkroom.imaging.decode import open_source
from darkroom.imaging.errors import DamagedData
from darkroom.imaging.libvips import libvips_errors
from darkroom.imaging.pillow_jpeg import decode_jpeg
from darkroom.imaging.probe import read_header
from darkroom.smart import Analyzer
from tests.imaging.conftest import AsInput
from tests.imaging.decodes import recorded_decodes
from tests.imaging.samples import (
    BLUE,
    GREEN,
    RED,
    close,
    load,
    noise,
    pixel,
    quadrants,
    save,
    solid,
)

LIMITS = Limits()
PNG = OutputFormat.PNG
GREY = (128, 128, 128)


def cut_short(data: bytes, at: float = 0.5) -> bytes:
    """``data`` cut ``at`` of the way through its (first) scan, then ended with FFD9."""
    scan = data.index(b"\xff\xda")
    return data[: scan + int((len(data) - scan) * at)] + b"\xff\xd9"


def with_stray_bytes(data: bytes) -> bytes:
    """Three stray bytes between two header segments: libjpeg warns ("extraneous bytes
    before marker") and decodes the picture whole. Real files carry such slips."""
    second = 2 + 2 + int.from_bytes(data[4:6], "big")  # after SOI and the first segment
    assert data[second] == 0xFF and data[second + 1] != 0xDA
    return data[:second] + b"\x00\x00\x00" + data[second:]


def photo(**save_options: object) -> bytes:
    return save(noise(640, 480), ".jpg", **save_options)


SPECS = {
    "dct-scaled (Pillow)": RenderSpec(Operation.THUMBNAIL, 80, format=PNG),
    "full size (libvips)": RenderSpec(Operation.CONVERT, format=PNG),
    "keeping metadata (libvips)": RenderSpec(Operation.THUMBNAIL, 80, keep_metadata=True),
    "smart crop": RenderSpec(Operation.COVER, 60, 60, gravity=Gravity.ATTENTION, format=PNG),
}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
@pytest.mark.parametrize("at", [0.1, 0.5, 0.9])
def test_a_scan_cut_short_is_corrupt(as_input: AsInput, spec: RenderSpec, at: float) -> None:
    source = as_input(cut_short(photo(), at))
    probe(source, LIMITS)  # the header is whole: only decoding finds the cut
    with pytest.raises(CorruptImage, match="premature end of data segment") as caught:
        render(source, [spec], LIMITS)
    assert caught.value.code == "corrupt_image"


@pytest.mark.parametrize(
    "options",
    [{"interlace": True}, {"restart_interval": 2}, {"subsample_mode": "off"}],
    ids=["progressive", "restart markers", "4:4:4"],
)
def test_other_kinds_of_jpeg_cut_short_are_corrupt(options: dict[str, object]) -> None:
    broken = cut_short(photo(**options), 0.8)
    for spec in SPECS.values():
        with pytest.raises(CorruptImage):
            render(broken, [spec], LIMITS)


def test_outputs_sharing_one_decode_fail_together() -> None:
    specs = [RenderSpec(Operation.THUMBNAIL, 80), RenderSpec(Operation.THUMBNAIL, 200)]
    with pytest.raises(CorruptImage):
        render(cut_short(photo()), specs, LIMITS)


def test_the_strict_decode_fails_where_the_lenient_one_fills_in_grey() -> None:
    broken = cut_short(save(solid(64, 64, RED), ".jpg"), 0.3)
    header = read_header(broken, LIMITS)
    with pytest.raises(DamagedData), libvips_errors():
        open_source(broken, header, 1.0, False, True).copy_memory()
    lenient = open_source(broken, header, 1.0, False, True, strict=False).copy_memory()
    assert close(lenient(0, 0), RED) and lenient(63, 63) == list(GREY)


def test_pillow_leaves_a_scan_cut_short_to_libvips() -> None:
    data = photo()
    header = read_header(data, LIMITS)
    assert decode_jpeg(data, header, 8) is not None
    broken = cut_short(data)
    assert decode_jpeg(broken, read_header(broken, LIMITS), 8) is None
    progressive = photo(interlace=True)  # later scans cut short would leave no grey
    assert decode_jpeg(progressive, read_header(progressive, LIMITS), 8) is None


def test_a_picture_that_really_ends_in_grey_is_rendered() -> None:
    data = save(quadrants(320, 240, [RED, GREEN, BLUE, GREY]), ".jpg")
    assert decode_jpeg(data, read_header(data, LIMITS), 8) is None  # looks like a fill
    [made] = render(data, [RenderSpec(Operation.THUMBNAIL, 40, format=PNG)], LIMITS)
    assert close(pixel(made.data, 2, 2), RED) and close(pixel(made.data, 38, 28), GREY)


Fix = Callable[[bytes], bytes]
WARNINGS_ABOUT_NOTHING: dict[str, Fix] = {
    "stray bytes between segments": with_stray_bytes,
    "bytes after the end marker": lambda data: data + b"\x00trailing junk\x00" * 8,
}


@pytest.mark.parametrize("fix", WARNINGS_ABOUT_NOTHING.values(), ids=WARNINGS_ABOUT_NOTHING.keys())
@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_jpegs_with_harmless_slips_are_rendered(
    as_input: AsInput, fix: Fix, spec: RenderSpec
) -> None:
    data = save(quadrants(640, 480, [RED, GREEN, BLUE, RED]), ".jpg")
    [made] = render(as_input(fix(data)), [spec], LIMITS)
    [reference] = render(data, [spec], LIMITS)
    assert (made.width, made.height) == (reference.width, reference.height)
    assert close(pixel(made.data, 1, 1), RED)
    assert close(pixel(made.data, made.width - 2, made.height - 2), RED)


def test_a_strict_decode_refused_for_a_harmless_slip_is_done_again_leniently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = with_stray_bytes(save(solid(64, 48, RED), ".jpg"))
    header = read_header(data, LIMITS)
    with pytest.raises(CorruptImage, match="extraneous bytes") as caught, libvips_errors():
        open_source(data, header, 1.0, False, True).copy_memory()
    assert not isinstance(caught.value, DamagedData)
    decodes = recorded_decodes(monkeypatch)
    libvips_decode = RenderSpec(Operation.CONVERT, format=PNG, keep_metadata=True)
    [made] = render(data, [libvips_decode], LIMITS)
    assert [d.strict for d in decodes] == [True, False]
    assert close(pixel(made.data, 63, 47), RED)


def test_a_pair_takes_a_page_with_harmless_slips() -> None:
    pages = [save(solid(300, 400, colour), ".jpg") for colour in (RED, GREEN, BLUE, RED)]
    # progressive: decoded by libvips, strictly first (Pillow ignores libjpeg's warnings)
    pages[1] = with_stray_bytes(save(solid(300, 400, GREEN), ".jpg", interlace=True))
    cover = compose_pair(pages, PairSpec(width=400), LIMITS, Analyzer())
    assert not cover.fallback_used
    pages[1] = cut_short(pages[1])
    pages[2] = cut_short(pages[2])
    with pytest.raises(CorruptImage):  # analysis fails, so do the centred crops after it
        compose_pair(pages, PairSpec(width=400), LIMITS, Analyzer())


def test_a_jpeg_missing_its_end_marker_is_refused_or_whole_never_grey() -> None:
    """Whether libjpeg notices the missing end marker depends on where its input buffer
    ends: for most files it reaches the end of the file before the last block and the
    decode fails; for some (seed 78 here) every block is read first, and the picture,
    which lacks nothing, comes out whole."""
    convert = [RenderSpec(Operation.CONVERT, format=PNG)]
    noticed = save(noise(640, 480, seed=0), ".jpg")
    with pytest.raises(CorruptImage, match="premature end"):
        render(noticed[:-2], convert, LIMITS)
    read_first = save(noise(640, 480, seed=78), ".jpg")
    [whole] = render(read_first[:-2], convert, LIMITS)
    [intact] = render(read_first, convert, LIMITS)
    assert load(whole.data).avg() == load(intact.data).avg()
    assert (load(whole.data) - load(intact.data)).abs().max() == 0
