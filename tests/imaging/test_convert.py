from __future__ import annotations

import pytest

from darkroom.imaging import ImageInput, InvalidSpec, Limits, OutputFormat, convert
from darkroom.imaging.encode import encode
from tests.imaging.conftest import AsInput
from tests.imaging.samples import BLUE, RED, close, load, noise, save, side_by_side

LIMITS = Limits()


@pytest.fixture
def output(as_input: AsInput) -> ImageInput:
    return as_input(save(side_by_side(400, 200, RED, BLUE), ".png"))


def test_convert_changes_format_at_the_same_size(output: ImageInput) -> None:
    rendered = convert(output, OutputFormat.WEBP, None, None, LIMITS)
    decoded = load(rendered.data)
    assert (rendered.format, rendered.media_type) == (OutputFormat.WEBP, "image/webp")
    assert decoded.get("vips-loader") == "webpload_buffer"
    assert (decoded.width, decoded.height) == (400, 200)
    assert close(decoded(10, 100), RED) and close(decoded(390, 100), BLUE)


def test_convert_downscales_to_width_keeping_aspect(output: ImageInput) -> None:
    rendered = convert(output, OutputFormat.JPEG, 100, None, LIMITS)
    assert (rendered.width, rendered.height) == (100, 50)
    assert load(rendered.data).get("vips-loader") == "jpegload_buffer"


def test_convert_never_upscales(output: ImageInput) -> None:
    rendered = convert(output, None, 1000, None, LIMITS)
    assert (rendered.format, rendered.width, rendered.height) == (OutputFormat.PNG, 400, 200)


@pytest.mark.parametrize("fmt", [OutputFormat.JPEG, OutputFormat.WEBP, OutputFormat.AVIF])
def test_convert_quality_changes_the_size(fmt: OutputFormat) -> None:
    busy = save(noise(200, 200), ".png")
    low = convert(busy, fmt, None, 10, LIMITS)
    high = convert(busy, fmt, None, 90, LIMITS)
    assert len(low.data) * 2 < len(high.data)


def test_convert_rejects_quality_out_of_range(output: ImageInput) -> None:
    with pytest.raises(InvalidSpec):
        convert(output, OutputFormat.JPEG, None, 101, LIMITS)


@pytest.mark.parametrize(("side", "effort"), [(640, 0), (641, 4)])
def test_webp_effort_is_lower_for_thumbnail_sized_outputs(side: int, effort: int) -> None:
    image = noise(side, 640)
    written = encode(image, OutputFormat.WEBP, 80, keep_metadata=False)
    assert written == bytes(image.webpsave_buffer(Q=80, effort=effort, keep="none"))
    other = 4 if effort == 0 else 0
    assert written != bytes(image.webpsave_buffer(Q=80, effort=other, keep="none"))
