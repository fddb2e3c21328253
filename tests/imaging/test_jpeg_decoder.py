"""JPEG sources small enough after DCT scaling decode through Pillow, the rest through
libvips; both must give the same picture."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from darkroom.imaging import ImageInput, Limits, Operation, OutputFormat, RenderSpec, render
from darkroom.imaging.probe import Header
from tests.imaging.conftest import AsInput
from tests.imaging.samples import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    close,
    load,
    noise,
    quadrants,
    save,
    solid,
)

decode_module = importlib.import_module("darkroom.imaging.decode")
pillow_module = importlib.import_module("darkroom.imaging.pillow_jpeg")
LIMITS = Limits()
WEBP = OutputFormat.WEBP


class PillowDecodes:
    """Records what the Pillow decoder returned: an image, or None (left to libvips)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.results: list[Any] = []
        real = decode_module.decode_jpeg

        def recorded(source: ImageInput, header: Header, shrink: int) -> Any:
            result = real(source, header, shrink)
            self.results.append(result)
            return result

        monkeypatch.setattr(decode_module, "decode_jpeg", recorded)

    @property
    def taken(self) -> list[bool]:
        return [result is not None for result in self.results]


def busy_photo() -> bytes:
    """Quadrants with noise on top, so decoders' rounding differences would show."""
    return save(
        quadrants(800, 600, [RED, GREEN, BLUE, YELLOW]) * 0.8 + noise(800, 600) * 0.2, ".jpg"
    )


@pytest.mark.parametrize("width", [100, 200, 400, 800], ids=["1/8", "1/4", "1/2", "1/1"])
def test_pillow_and_libvips_decode_the_same_picture(
    monkeypatch: pytest.MonkeyPatch, as_input: AsInput, width: int
) -> None:
    source = as_input(busy_photo())
    spec = RenderSpec(Operation.THUMBNAIL, width, format=OutputFormat.PNG)
    decodes = PillowDecodes(monkeypatch)
    [pillow] = render(source, [spec], LIMITS)
    assert decodes.taken == [True]
    monkeypatch.setattr(pillow_module, "MAX_DECODED_PIXELS", 0)
    [libvips] = render(source, [spec], LIMITS)
    assert decodes.taken == [True, False]
    a, b = load(pillow.data), load(libvips.data)
    assert (a.width, a.height) == (b.width, b.height) == (width, width * 3 // 4)
    # Both are libjpeg-turbo with the same settings: identical here, allow rounding.
    assert (a.cast("int") - b.cast("int")).abs().max() <= 2


def test_cmyk_and_kept_metadata_are_left_to_libvips(
    monkeypatch: pytest.MonkeyPatch, as_input: AsInput
) -> None:
    decodes = PillowDecodes(monkeypatch)
    cmyk = solid(64, 64, (200, 100, 50)).icc_transform("cmyk", input_profile="srgb")
    [out] = render(as_input(save(cmyk, ".jpg")), [RenderSpec(Operation.THUMBNAIL, 8)], LIMITS)
    assert decodes.taken == [False]  # Pillow declined: CMYK
    assert close(load(out.data)(4, 4), (200, 100, 50))
    keep = RenderSpec(Operation.THUMBNAIL, 8, keep_metadata=True)
    render(as_input(save(solid(64, 64, RED), ".jpg")), [keep], LIMITS)
    assert decodes.taken == [False]  # not even asked


def test_a_large_decode_streams_through_libvips(
    monkeypatch: pytest.MonkeyPatch, as_input: AsInput
) -> None:
    monkeypatch.setattr(pillow_module, "MAX_DECODED_PIXELS", 10_000)
    decodes = PillowDecodes(monkeypatch)
    source = as_input(save(solid(400, 200, RED), ".jpg"))
    small, large = (RenderSpec(Operation.THUMBNAIL, w, format=WEBP) for w in (50, 200))
    render(source, [small], LIMITS)  # 1/8: 50x25 decoded
    render(source, [large], LIMITS)  # 1/2: 200x100 decoded
    assert decodes.taken == [True, False]
