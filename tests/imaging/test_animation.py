from __future__ import annotations

from typing import Any

import pytest

from darkroom.imaging import (
    ImageTooLarge,
    Limits,
    Operation,
    OutputFormat,
    RenderSpec,
    render,
)
from tests.imaging.conftest import AsInput
from tests.imaging.decodes import recorded_decodes
from tests.imaging.samples import BLUE, GREEN, RED, animation, close, load, save

LIMITS = Limits()
FRAMES = [RED, GREEN, BLUE]


def frames_of(data: bytes) -> Any:
    return load(data, n=-1)


@pytest.mark.parametrize("source", [".gif", ".webp"])
@pytest.mark.parametrize("fmt", [OutputFormat.WEBP, OutputFormat.GIF])
def test_animation_stays_animated(as_input: AsInput, source: str, fmt: OutputFormat) -> None:
    data = as_input(save(animation(60, 40, FRAMES), source))
    [rendered] = render(data, [RenderSpec(Operation.THUMBNAIL, 30, format=fmt)], LIMITS)
    assert (rendered.width, rendered.height, rendered.frames) == (30, 20, 3)
    out = frames_of(rendered.data)
    assert (out.get("n-pages"), out.get("page-height"), out.height) == (3, 20, 60)
    assert list(out.get("delay")) == [100, 100, 100]
    for index, colour in enumerate(FRAMES):
        assert close(out(15, index * 20 + 10)[:3], colour)


def test_cover_crops_every_frame(as_input: AsInput) -> None:
    data = as_input(save(animation(60, 40, FRAMES), ".gif"))
    [rendered] = render(data, [RenderSpec(Operation.COVER, 16, 16)], LIMITS)
    out = frames_of(rendered.data)
    assert (rendered.format, rendered.frames, out.width, out.height) == (
        OutputFormat.GIF,
        3,
        16,
        48,
    )
    assert close(out(8, 40)[:3], BLUE)


@pytest.mark.parametrize("fmt", [OutputFormat.JPEG, OutputFormat.PNG, OutputFormat.AVIF])
def test_still_formats_get_the_first_frame(as_input: AsInput, fmt: OutputFormat) -> None:
    data = as_input(save(animation(60, 40, FRAMES), ".gif"))
    [rendered] = render(data, [RenderSpec(Operation.THUMBNAIL, 30, format=fmt)], LIMITS)
    out = load(rendered.data)
    assert (rendered.frames, out.width, out.height) == (1, 30, 20)
    assert close(out(15, 10)[:3], RED)


def test_animated_and_still_outputs_share_one_decode(
    monkeypatch: pytest.MonkeyPatch, as_input: AsInput
) -> None:
    decodes = recorded_decodes(monkeypatch)
    data = as_input(save(animation(60, 40, FRAMES), ".gif"))
    specs = [
        RenderSpec(Operation.THUMBNAIL, 30, format=OutputFormat.WEBP),
        RenderSpec(Operation.THUMBNAIL, 20, format=OutputFormat.JPEG),
    ]
    animated, still = render(data, specs, LIMITS)
    assert [d.all_frames for d in decodes] == [True]
    assert (animated.frames, still.frames, still.height) == (3, 1, 13)
    assert close(load(still.data)(10, 6), RED)


def test_animating_too_many_pixels_is_refused_but_a_still_is_not() -> None:
    data = save(animation(30, 20, FRAMES), ".gif")
    limits = Limits(max_source_pixels=1000)  # one frame is 600, all three 1800
    with pytest.raises(ImageTooLarge):
        render(data, [RenderSpec(Operation.CONVERT, format=OutputFormat.WEBP)], limits)
    [still] = render(data, [RenderSpec(Operation.CONVERT, format=OutputFormat.PNG)], limits)
    assert (still.width, still.height, still.frames) == (30, 20, 1)
