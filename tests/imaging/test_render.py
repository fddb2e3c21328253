from __future__ import annotations

import importlib
import platform
from typing import Any

import pytest

from darkroom.imaging import (
    CorruptImage,
    Fit,
    Gravity,
    ImageTooLarge,
    InvalidSpec,
    Limits,
    Operation,
    OutputFormat,
    OutputTooLarge,
    RenderSpec,
    probe,
    render,
)
from darkroom.imaging.source import ImageInput
from tests.imaging.conftest import AsInput
from tests.imaging.decodes import recorded_decodes
from tests.imaging.samples import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    close,
    load,
    noise,
    pixel,
    quadrants,
    save,
    side_by_side,
    solid,
    with_fields,
)

# The package re-exports the function render() under the module's own name.
render_module = importlib.import_module("darkroom.imaging.render")
LIMITS = Limits()
PNG = OutputFormat.PNG


def one(source: ImageInput, spec: RenderSpec, limits: Limits = LIMITS) -> Any:
    return render(source, [spec], limits)[0]


@pytest.fixture
def landscape(as_input: AsInput) -> ImageInput:
    return as_input(save(side_by_side(400, 200, RED, BLUE), ".png"))


@pytest.mark.parametrize(
    ("spec", "size"),
    [
        (RenderSpec(Operation.THUMBNAIL, 100, 100), (100, 50)),
        (RenderSpec(Operation.THUMBNAIL, 300, 30), (60, 30)),
        (RenderSpec(Operation.THUMBNAIL, width=80), (80, 40)),
        (RenderSpec(Operation.THUMBNAIL, height=80), (160, 80)),
        (RenderSpec(Operation.THUMBNAIL, 4000, 4000), (400, 200)),  # never upscaled
        (RenderSpec(Operation.RESIZE, 50, 150), (50, 150)),
        (RenderSpec(Operation.RESIZE, 800, 300, enlarge=True), (800, 300)),
        (RenderSpec(Operation.RESIZE, 800, 300), (400, 150)),  # never enlarged unless asked
        (RenderSpec(Operation.COVER, 90, 90), (90, 90)),
        (RenderSpec(Operation.COVER, 1000, 100, enlarge=True), (1000, 100)),
        (RenderSpec(Operation.COVER, 1000, 100), (400, 40)),  # the aspect ratio kept
        (RenderSpec(Operation.CONVERT, 10, 10), (400, 200)),  # sides ignored
    ],
)
def test_operation_output_sizes(
    landscape: ImageInput, spec: RenderSpec, size: tuple[int, int]
) -> None:
    rendered = one(landscape, spec)
    decoded = load(rendered.data)
    assert (rendered.width, rendered.height) == size
    assert (decoded.width, decoded.height) == size
    assert rendered.format is PNG  # the source's own format


@pytest.mark.parametrize(
    "spec",
    [
        RenderSpec(Operation.THUMBNAIL),
        RenderSpec(Operation.RESIZE, width=10),
        RenderSpec(Operation.COVER, height=10),
        RenderSpec(Operation.THUMBNAIL, 0, 10),
        RenderSpec(Operation.THUMBNAIL, 10, 10, quality=0),
    ],
)
def test_incomplete_specs_are_invalid(landscape: ImageInput, spec: RenderSpec) -> None:
    with pytest.raises(InvalidSpec) as caught:
        one(landscape, spec)
    assert caught.value.code == "invalid_spec"


@pytest.mark.parametrize(
    ("gravity", "colour"),
    [(Gravity.WEST, RED), (Gravity.EAST, BLUE), (Gravity.NORTH_WEST, RED)],
)
def test_cover_keeps_the_side_gravity_points_at(
    landscape: ImageInput, gravity: Gravity, colour: tuple[int, int, int]
) -> None:
    rendered = one(landscape, RenderSpec(Operation.COVER, 50, 50, gravity=gravity))
    for x, y in ((0, 0), (49, 49), (25, 25)):
        assert close(pixel(rendered.data, x, y), colour)


def test_cover_centre_keeps_both_halves(landscape: ImageInput) -> None:
    rendered = one(landscape, RenderSpec(Operation.COVER, 50, 50))
    assert close(pixel(rendered.data, 2, 25), RED)
    assert close(pixel(rendered.data, 47, 25), BLUE)


@pytest.mark.parametrize(
    ("gravity", "colour"),
    [(Gravity.NORTH, RED), (Gravity.SOUTH, GREEN), (Gravity.SOUTH_EAST, GREEN)],
)
def test_cover_on_a_portrait_crops_vertically(gravity: Gravity, colour: tuple[int, ...]) -> None:
    portrait = solid(100, 150, RED).join(solid(100, 150, GREEN), "vertical")
    rendered = one(save(portrait, ".png"), RenderSpec(Operation.COVER, 40, 40, gravity=gravity))
    assert close(pixel(rendered.data, 20, 0), colour)
    assert close(pixel(rendered.data, 20, 39), colour)


CORNERS = [RED, GREEN, BLUE, YELLOW]  # top-left, top-right, bottom-left, bottom-right


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(
    "spec",
    [
        RenderSpec(Operation.CONVERT, format=PNG),
        RenderSpec(Operation.COVER, 30, 30, gravity=Gravity.NORTH_WEST, format=PNG),
        RenderSpec(Operation.THUMBNAIL, 50, 50, format=PNG),
    ],
    ids=["convert", "cover-north-west", "thumbnail"],
)
def test_exif_orientation_is_applied(as_input: AsInput, orientation: int, spec: RenderSpec) -> None:
    stored = with_fields(quadrants(120, 80, CORNERS), orientation=orientation)
    data = save(stored, ".jpg", Q=95)
    expected = load(data).autorot()  # libvips' own reading of the orientation
    [rendered] = render(as_input(data), [spec], LIMITS)
    got = load(rendered.data)
    assert got.get_typeof("orientation") == 0
    if spec.op is Operation.COVER:
        # the north-west square of the displayed picture: top-left and its neighbours
        assert (got.width, got.height) == (30, 30)
        assert close(got(3, 3), expected(3, 3), 20)
        return
    scale = got.width / expected.width
    assert got.height == round(expected.height * scale)
    for fx, fy in ((0.1, 0.1), (0.9, 0.1), (0.1, 0.9), (0.9, 0.9)):
        at = expected(int(fx * expected.width), int(fy * expected.height))
        assert close(got(int(fx * got.width), int(fy * got.height)), at, 20)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_facts_from_probe_render_the_same_without_reading_the_header_again(
    monkeypatch: pytest.MonkeyPatch, orientation: int
) -> None:
    data = save(with_fields(quadrants(120, 80, CORNERS), orientation=orientation), ".jpg")
    specs = [
        RenderSpec(Operation.THUMBNAIL, 50, 50, format=PNG),
        RenderSpec(Operation.COVER, 30, 20, gravity=Gravity.NORTH_EAST, format=PNG),
    ]
    expected = render(data, specs, LIMITS)
    facts = probe(data, LIMITS)
    header_reads: list[object] = []
    original = render_module.read_header

    def recorded(*args: Any) -> Any:
        header_reads.append(args)
        return original(*args)

    monkeypatch.setattr(render_module, "read_header", recorded)
    assert render(data, specs, LIMITS, facts=facts) == expected
    assert header_reads == []


def test_facts_are_held_to_the_limits() -> None:
    data = save(solid(300, 200, RED), ".png")
    facts = probe(data, LIMITS)
    with pytest.raises(ImageTooLarge):
        render(data, [RenderSpec(Operation.CONVERT)], Limits(max_source_pixels=50_000), facts=facts)


@pytest.mark.parametrize("width", [100, 30], ids=["half-scale", "eighth-scale"])
def test_truncated_jpeg_is_corrupt(as_input: AsInput, width: int) -> None:
    data = save(noise(300, 200), ".jpg")
    source = as_input(data[: len(data) // 2])
    with pytest.raises(CorruptImage):
        render(source, [RenderSpec(Operation.THUMBNAIL, width)], LIMITS)


def test_truncated_png_is_corrupt(as_input: AsInput) -> None:
    data = save(noise(300, 200), ".png")
    source = as_input(data[: len(data) // 2])
    with pytest.raises(CorruptImage):
        render(source, [RenderSpec(Operation.CONVERT, format=PNG)], LIMITS)


def test_damaged_data_in_a_shared_decode_is_corrupt(as_input: AsInput) -> None:
    data = save(noise(300, 200), ".png")[:-4000]
    specs = [RenderSpec(Operation.THUMBNAIL, 50), RenderSpec(Operation.THUMBNAIL, 80)]
    with pytest.raises(CorruptImage):
        render(as_input(data), specs, LIMITS)


def test_many_outputs_share_one_decode(monkeypatch: pytest.MonkeyPatch, as_input: AsInput) -> None:
    decodes = recorded_decodes(monkeypatch)
    data = as_input(save(side_by_side(1200, 800, RED, BLUE), ".jpg"))
    specs = [
        RenderSpec(Operation.THUMBNAIL, 320, format=OutputFormat.WEBP),
        RenderSpec(Operation.THUMBNAIL, 600, format=OutputFormat.AVIF),
        RenderSpec(Operation.COVER, 100, 100, gravity=Gravity.EAST, format=PNG),
        RenderSpec(Operation.RESIZE, 64, 64, format=OutputFormat.JPEG),
    ]
    progress: list[int] = []
    rendered = render(data, specs, LIMITS, progress.append)
    assert [d.scale for d in decodes] == [0.5]  # once, at the largest size needed: 600 of 1200
    assert progress == [1, 2, 3, 4]
    assert [(r.format, r.width, r.height) for r in rendered] == [
        (OutputFormat.WEBP, 320, 213),
        (OutputFormat.AVIF, 600, 400),
        (PNG, 100, 100),
        (OutputFormat.JPEG, 64, 64),
    ]
    assert [load(r.data).get("vips-loader") for r in rendered] == [
        "webpload_buffer",
        "heifload_buffer",
        "pngload_buffer",
        "jpegload_buffer",
    ]
    assert close(pixel(rendered[2].data, 50, 50), BLUE)
    assert close(pixel(rendered[1].data, 10, 200), RED)


def test_an_output_too_big_to_share_decodes_on_its_own(
    monkeypatch: pytest.MonkeyPatch, as_input: AsInput
) -> None:
    monkeypatch.setattr(render_module, "SHARED_DECODE_MAX_PIXELS", 100_000)
    decodes = recorded_decodes(monkeypatch)
    data = as_input(save(side_by_side(600, 400, RED, BLUE), ".png"))
    specs = [
        RenderSpec(Operation.THUMBNAIL, 100),
        RenderSpec(Operation.CONVERT, format=OutputFormat.JPEG),
        RenderSpec(Operation.THUMBNAIL, 200),
    ]
    rendered = render(data, specs, LIMITS)
    assert sorted(d.scale for d in decodes) == [1.0 / 3, 1.0]
    assert [(r.width, r.height) for r in rendered] == [(100, 67), (600, 400), (200, 133)]


@pytest.mark.parametrize(
    "spec",
    [
        RenderSpec(Operation.CONVERT),
        RenderSpec(Operation.RESIZE, 300, 20),
        RenderSpec(Operation.COVER, 10, 257, enlarge=True),
        RenderSpec(Operation.THUMBNAIL, 300, 300, fit=Fit.PAD),  # the canvas counts
        RenderSpec(Operation.THUMBNAIL, 100, dpr=3),
    ],
)
def test_output_too_large_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch, spec: RenderSpec
) -> None:
    decodes = recorded_decodes(monkeypatch)
    data = save(solid(300, 200, RED), ".png")
    with pytest.raises(OutputTooLarge) as caught:
        one(data, spec, Limits(max_output_dimension=256))
    assert caught.value.code == "output_too_large"
    assert decodes == []


def test_thumbnail_of_a_large_source_is_not_too_large() -> None:
    data = save(solid(300, 200, RED), ".png")
    rendered = one(data, RenderSpec(Operation.THUMBNAIL, 5000), Limits(max_output_dimension=300))
    assert (rendered.width, rendered.height) == (300, 200)


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [(".tif", OutputFormat.JPEG), (".webp", OutputFormat.WEBP), (".gif", OutputFormat.GIF)],
)
def test_format_defaults_to_the_source_where_it_can(
    as_input: AsInput, suffix: str, expected: OutputFormat
) -> None:
    rendered = one(as_input(save(solid(40, 40, RED), suffix)), RenderSpec(Operation.THUMBNAIL, 20))
    assert rendered.format is expected
    assert load(rendered.data).get("vips-loader") == f"{expected.value}load_buffer"


@pytest.mark.parametrize("suffix", [".png", ".webp", ".avif", ".tif"])
def test_orientation_is_applied_in_every_format_that_carries_it(
    as_input: AsInput, suffix: str
) -> None:
    stored = with_fields(quadrants(120, 80, CORNERS), orientation=6)
    source = as_input(save(stored, suffix, keep="all"))
    rendered = one(source, RenderSpec(Operation.CONVERT, format=PNG))
    out = load(rendered.data)
    assert (rendered.width, rendered.height) == (80, 120)
    # a quarter turn clockwise brings the bottom-left corner to the top-left
    assert close(out(5, 5), BLUE) and close(out(75, 5), RED)


def test_freed_memory_is_released_after_a_large_decode_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    releases: list[int] = []
    monkeypatch.setattr(render_module, "release_freed_memory", lambda: releases.append(1))
    monkeypatch.setattr(render_module, "RELEASE_AFTER_PIXELS", 60_000)
    data = save(side_by_side(400, 200, RED, BLUE), ".png")  # 80,000 pixels, no shrink-on-load
    one(data, RenderSpec(Operation.THUMBNAIL, 100))
    assert releases == [1]
    jpeg = save(side_by_side(400, 200, RED, BLUE), ".jpg")  # decoded at 1/4: 5,000 pixels
    one(jpeg, RenderSpec(Operation.THUMBNAIL, 100))
    assert releases == [1]
    with pytest.raises(CorruptImage):  # released when rendering fails too
        one(data[: len(data) // 2], RenderSpec(Operation.THUMBNAIL, 100))
    assert releases == [1, 1]
    assert render(data, [], LIMITS) == []


def test_releasing_freed_memory_is_harmless() -> None:
    runtime = importlib.import_module("darkroom.imaging.runtime")
    if platform.libc_ver()[0] == "glibc":
        assert runtime._malloc_trim() is not None  # really wired up where it matters
    runtime.release_freed_memory()
    runtime.release_freed_memory()
    [rendered] = render(save(solid(40, 40, RED), ".png"), [RenderSpec(Operation.CONVERT)], LIMITS)
    assert close(pixel(rendered.data, 20, 20), RED)
