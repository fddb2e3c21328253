"""Encoding options of an output: progressive, lossless, max_bytes, keep_icc, background."""

from __future__ import annotations

from typing import Any

import pytest
import pyvips

from darkroom.imaging import (
    Limits,
    Operation,
    OutputFormat,
    OutputTooLarge,
    Rendered,
    RenderSpec,
    render,
)
from darkroom.imaging.encode import EncodeOptions, encode_output
from tests.imaging.encoded import gif_interlaced, icc_colour_space, jpeg_frame_marker, webp_chunks
from tests.imaging.samples import BLUE, RED, Colour, close, load, noise, save, solid, with_fields

LIMITS = Limits()


def one(source: bytes, fmt: OutputFormat, **options: Any) -> Rendered:
    return render(source, [RenderSpec(Operation.CONVERT, format=fmt, **options)], LIMITS)[0]


def test_progressive_jpeg_has_a_sof2_frame() -> None:
    source = save(noise(64, 48), ".png")
    assert jpeg_frame_marker(one(source, OutputFormat.JPEG).data) == 0xC0
    assert jpeg_frame_marker(one(source, OutputFormat.JPEG, progressive=True).data) == 0xC2


@pytest.mark.parametrize("fmt", [OutputFormat.PNG, OutputFormat.GIF])
def test_progressive_png_and_gif_are_interlaced(fmt: OutputFormat) -> None:
    source = save(noise(40, 30), ".png")
    plain, interlaced = one(source, fmt).data, one(source, fmt, progressive=True).data
    if fmt is OutputFormat.PNG:
        assert (plain[28], interlaced[28]) == (0, 1)  # IHDR's interlace method: Adam7
    else:
        assert (gif_interlaced(plain), gif_interlaced(interlaced)) == (False, True)
    assert (load(interlaced).width, load(interlaced).height) == (40, 30)


def test_lossless_webp_is_a_vp8l_stream_with_the_very_pixels() -> None:
    image = noise(48, 32)
    source = save(image, ".png")
    lossless = one(source, OutputFormat.WEBP, lossless=True)
    assert b"VP8L" in webp_chunks(lossless.data)
    assert b"VP8L" not in webp_chunks(one(source, OutputFormat.WEBP).data)
    assert (load(lossless.data) - image).abs().max() == 0
    assert lossless.quality is None


def test_lossless_avif_decodes_to_the_very_pixels() -> None:
    image = noise(48, 32)
    lossless = one(save(image, ".png"), OutputFormat.AVIF, lossless=True)
    decoded = load(lossless.data)
    assert (decoded.width, decoded.height, decoded.bands) == (48, 32, 3)
    assert (decoded - image).abs().max() == 0


def test_lossy_outputs_report_their_quality() -> None:
    source = save(noise(32, 32), ".png")
    assert one(source, OutputFormat.JPEG).quality == 85
    assert one(source, OutputFormat.WEBP, quality=70).quality == 70
    assert one(source, OutputFormat.PNG).quality is None


@pytest.mark.parametrize("fmt", [OutputFormat.JPEG, OutputFormat.WEBP, OutputFormat.AVIF])
def test_max_bytes_takes_the_highest_quality_that_fits(fmt: OutputFormat) -> None:
    image = noise(96, 96)
    source = save(image, ".png")
    default = one(source, fmt)
    assert default.quality is not None
    budget = len(default.data) * 6 // 10
    fitted = one(source, fmt, max_bytes=budget)
    assert len(fitted.data) <= budget
    assert fitted.quality is not None and fitted.quality < default.quality
    one_better = encode_output(image, EncodeOptions(fmt, quality=fitted.quality + 1))
    assert len(one_better.data) > budget
    assert load(fitted.data).width == 96


def test_max_bytes_already_met_keeps_the_asked_quality() -> None:
    source = save(noise(32, 32), ".png")
    fitted = one(source, OutputFormat.JPEG, quality=90, max_bytes=1_000_000)
    assert fitted.quality == 90


def test_max_bytes_out_of_reach_is_refused_with_the_smallest_size() -> None:
    source = save(noise(64, 64), ".png")  # 311 bytes at quality 1
    with pytest.raises(OutputTooLarge, match=r"3\d\d bytes at quality 1, over max_bytes 250"):
        one(source, OutputFormat.JPEG, max_bytes=250)


def test_png_over_max_bytes_is_refused() -> None:
    source = save(noise(64, 64), ".png")
    with pytest.raises(OutputTooLarge, match="no quality to lower"):
        one(source, OutputFormat.PNG, max_bytes=1000)
    assert one(source, OutputFormat.PNG, max_bytes=10_000_000).quality is None


def tagged_p3(width: int, height: int) -> bytes:
    """A JPEG in Display P3, its profile embedded, with EXIF."""
    p3 = solid(width, height, (30, 200, 60)).icc_transform("p3", input_profile="srgb")
    return save(with_fields(p3, orientation=1), ".jpg", keep="all")


@pytest.mark.parametrize(
    "fmt", [OutputFormat.JPEG, OutputFormat.PNG, OutputFormat.WEBP, OutputFormat.AVIF]
)
def test_keep_icc_embeds_the_srgb_profile_and_drops_exif(fmt: OutputFormat) -> None:
    source = tagged_p3(32, 24)
    assert load(source).get_typeof("exif-data") != 0
    plain = load(one(source, fmt).data)
    assert plain.get_typeof("icc-profile-data") == 0
    kept = load(one(source, fmt, keep_icc=True).data)
    assert bytes(kept.get("icc-profile-data")) == pyvips.Image.profile_load("srgb")
    assert kept.get_typeof("exif-data") == 0
    assert close(kept(16, 12)[:3], (30, 200, 60))  # the pixels are sRGB, as tagged


def test_keep_metadata_tags_the_srgb_pixels_too() -> None:
    kept = load(one(tagged_p3(32, 24), OutputFormat.JPEG, keep_metadata=True).data)
    assert kept.get_typeof("exif-data") != 0
    assert icc_colour_space(kept) == b"RGB "


@pytest.mark.parametrize(
    ("fmt", "space"),
    [(OutputFormat.JPEG, b"GRAY"), (OutputFormat.PNG, b"GRAY"), (OutputFormat.WEBP, b"RGB ")],
)
def test_keep_icc_on_grey_matches_how_the_format_stores_it(fmt: OutputFormat, space: bytes) -> None:
    kept = load(one(save(solid(16, 16, [90]), ".png"), fmt, keep_icc=True).data)
    assert icc_colour_space(kept) == space


def half_transparent(width: int, height: int, colour: Colour) -> bytes:
    """``colour`` on the left half; transparent on the right."""
    alpha = solid(width // 2, height, [255]).join(solid(width // 2, height, [0]), "horizontal")
    return save(solid(width, height, colour).bandjoin(alpha), ".png")


def test_background_is_what_jpeg_flattens_transparency_onto() -> None:
    out = load(
        one(half_transparent(40, 20, RED), OutputFormat.JPEG, background=(0, 0, 255, 255)).data
    )
    assert close(out(5, 10), RED)
    assert close(out(35, 10), BLUE)


def test_grey_with_alpha_keeps_a_coloured_background() -> None:
    out = load(
        one(half_transparent(40, 20, [90]), OutputFormat.JPEG, background=(0, 0, 255, 255)).data
    )
    assert close(out(5, 10), (90, 90, 90))
    assert close(out(35, 10), BLUE)


def photo_like(width: int, height: int) -> bytes:
    """Smooth colour with a little grain: where encoder effort finds smaller files."""
    blobs = noise(width // 16 + 2, height // 16 + 2, seed=3).resize(16, kernel="cubic")
    grain = pyvips.Image.gaussnoise(width, height, sigma=4, mean=0, seed=5)
    return save((blobs.crop(0, 0, width, height) + grain).cast("uchar"), ".png")


def test_more_avif_effort_finds_a_smaller_file_of_the_same_picture() -> None:
    source = photo_like(192, 128)
    fast, default = one(source, OutputFormat.AVIF, effort=0), one(source, OutputFormat.AVIF)
    slower = one(source, OutputFormat.AVIF, effort=5)
    assert fast.data == default.data  # effort 0 is AVIF's default
    assert len(slower.data) < len(fast.data)
    assert close(load(slower.data)(96, 64), load(fast.data)(96, 64), 12)


def test_webp_effort_above_its_most_counts_as_its_most() -> None:
    source = photo_like(96, 64)
    most = one(source, OutputFormat.WEBP, effort=6).data
    assert one(source, OutputFormat.WEBP, effort=9).data == most
    assert one(source, OutputFormat.WEBP, effort=0).data != most
