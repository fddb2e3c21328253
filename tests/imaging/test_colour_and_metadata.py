from __future__ import annotations

from typing import Any

import pytest
import pyvips

from darkroom.imaging import ImageInput, Limits, Operation, OutputFormat, RenderSpec, render
from tests.imaging.conftest import AsInput
from tests.imaging.samples import GREEN, RED, WHITE, close, load, save, solid, with_fields

LIMITS = Limits()
ORANGE = (200, 100, 50)


def one(source: ImageInput, spec: RenderSpec) -> Any:
    return load(render(source, [spec], LIMITS)[0].data)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_display_p3_comes_out_as_untagged_srgb(as_input: AsInput, suffix: str) -> None:
    p3 = solid(64, 64, GREEN).icc_transform("p3", input_profile="srgb")
    assert not close(p3(0, 0), GREEN, 40)  # P3 numbers for sRGB green differ a lot
    source = as_input(save(p3, suffix, Q=95))
    out = one(source, RenderSpec(Operation.THUMBNAIL, 32, format=OutputFormat.PNG))
    assert out.get_typeof("icc-profile-data") == 0
    assert close(out(16, 16), GREEN)


@pytest.mark.parametrize("embed_profile", [True, False])
def test_cmyk_jpeg_comes_out_as_srgb(as_input: AsInput, embed_profile: bool) -> None:
    cmyk = solid(64, 64, ORANGE).icc_transform("cmyk", input_profile="srgb")
    assert cmyk.interpretation == "cmyk" and cmyk.bands == 4
    data = as_input(save(cmyk, ".jpg", Q=95, keep="all" if embed_profile else "none"))
    out = one(data, RenderSpec(Operation.THUMBNAIL, 32, format=OutputFormat.JPEG))
    assert (out.bands, out.interpretation) == (3, "srgb")
    assert out.get_typeof("icc-profile-data") == 0
    assert close(out(16, 16), ORANGE)


def half_transparent(width: int, height: int) -> Any:
    """Opaque red on the left half; transparent black on the right."""
    alpha = solid(width // 2, height, [255]).join(
        solid(width - width // 2, height, [0]), "horizontal"
    )
    colour = solid(width // 2, height, RED).join(
        solid(width - width // 2, height, (0, 0, 0)), "horizontal"
    )
    return colour.bandjoin(alpha)


@pytest.mark.parametrize(
    "fmt", [OutputFormat.PNG, OutputFormat.WEBP, OutputFormat.AVIF, OutputFormat.GIF]
)
def test_alpha_is_kept_where_the_format_has_it(as_input: AsInput, fmt: OutputFormat) -> None:
    source = as_input(save(half_transparent(40, 40), ".png"))
    out = one(source, RenderSpec(Operation.THUMBNAIL, 20, format=fmt))
    assert out.bands == 4
    assert out(2, 10)[3] == 255
    lossy_alpha = 2 if fmt is OutputFormat.AVIF else 0  # AVIF codes alpha as a lossy plane
    assert out(17, 10)[3] <= lossy_alpha
    assert close(out(2, 10)[:3], RED, 16)


def test_alpha_is_flattened_onto_white_for_jpeg(as_input: AsInput) -> None:
    out = one(
        as_input(save(half_transparent(40, 40), ".png")),
        RenderSpec(Operation.CONVERT, format=OutputFormat.JPEG),
    )
    assert out.bands == 3
    assert close(out(5, 20), RED)
    assert close(out(35, 20), WHITE)


def test_resizing_with_alpha_does_not_darken_edges() -> None:
    out = one(
        save(half_transparent(41, 40), ".png"),
        RenderSpec(Operation.RESIZE, 13, 13, format=OutputFormat.PNG),
    )
    edge = [out(x, 6) for x in range(13) if 0 < out(x, 6)[3] < 255]
    assert edge  # the boundary really is partly transparent
    assert all(px[0] > 230 and px[1] < 25 for px in edge)


def with_metadata(image: Any) -> Any:
    tagged = with_fields(image.icc_transform("srgb", input_profile="srgb"), orientation=1)
    tagged.set_type(pyvips.GValue.blob_type, "xmp-data", b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    return tagged


@pytest.mark.parametrize("fmt", [OutputFormat.JPEG, OutputFormat.PNG, OutputFormat.WEBP])
def test_metadata_is_stripped_by_default(as_input: AsInput, fmt: OutputFormat) -> None:
    data = save(with_metadata(solid(40, 40, RED)), ".jpg", keep="all")
    source = load(data)
    assert all(source.get_typeof(name) for name in ("exif-data", "xmp-data", "icc-profile-data"))
    out = one(as_input(data), RenderSpec(Operation.THUMBNAIL, 20, format=fmt))
    assert [
        name for name in ("exif-data", "xmp-data", "icc-profile-data") if out.get_typeof(name)
    ] == []


def test_metadata_is_kept_when_asked(as_input: AsInput) -> None:
    data = as_input(save(with_metadata(solid(40, 40, RED)), ".jpg", keep="all"))
    out = one(
        data, RenderSpec(Operation.THUMBNAIL, 20, format=OutputFormat.JPEG, keep_metadata=True)
    )
    assert out.get_typeof("exif-data") != 0
    assert out.get_typeof("xmp-data") != 0


def test_kept_metadata_no_longer_asks_viewers_to_turn_the_picture(as_input: AsInput) -> None:
    data = as_input(save(with_fields(solid(60, 40, RED), orientation=6), ".jpg"))
    out = one(data, RenderSpec(Operation.CONVERT, format=OutputFormat.JPEG, keep_metadata=True))
    assert (out.width, out.height) == (40, 60)
    assert out.get("orientation") == 1


def test_sixteen_bit_source_comes_out_eight_bit(as_input: AsInput) -> None:
    deep = (solid(32, 32, ORANGE).cast("ushort") * 257).copy(interpretation="rgb16")
    out = one(
        as_input(save(deep, ".png")), RenderSpec(Operation.THUMBNAIL, 16, format=OutputFormat.PNG)
    )
    assert (out.format, out.interpretation, out.bands) == ("uchar", "srgb", 3)
    assert close(out(8, 8), ORANGE, 2)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
@pytest.mark.parametrize("fmt", [OutputFormat.JPEG, OutputFormat.PNG])
def test_greyscale_stays_greyscale(as_input: AsInput, suffix: str, fmt: OutputFormat) -> None:
    grey = solid(32, 32, [90])
    out = one(as_input(save(grey, suffix)), RenderSpec(Operation.THUMBNAIL, 16, format=fmt))
    assert (out.bands, out.interpretation) == (1, "b-w")
    assert close(out(8, 8), [90], 3)
