"""The geometry and filter steps of an output (imaging/steps/), on real pixels: rotate and
flip after EXIF orientation, a region cut first, no enlarging unless asked, a padded box,
blur, sharpen, trim and dpr, alone and together, several from one decode."""

from __future__ import annotations

from typing import Any

import pytest

from darkroom.imaging import (
    Fit,
    Flip,
    Gravity,
    InvalidSpec,
    Limits,
    Operation,
    OutputFormat,
    OutputTooLarge,
    Region,
    RenderSpec,
    check_outputs,
    probe,
    render,
)
from tests.imaging.samples import (
    BLUE,
    GREEN,
    RED,
    WHITE,
    YELLOW,
    close,
    load,
    noise,
    pixel,
    quadrants,
    save,
    solid,
    with_fields,
)

PNG = OutputFormat.PNG
LIMITS = Limits()
# 200x100: red top-left, green top-right, blue bottom-left, yellow bottom-right
PICTURE = save(quadrants(200, 100, [RED, GREEN, BLUE, YELLOW]), ".png")


def one(source: bytes, **spec: Any) -> Any:
    spec.setdefault("format", PNG)
    [made] = render(source, [RenderSpec(spec.pop("op", Operation.CONVERT), **spec)], LIMITS)
    return made


def corners(data: bytes) -> list[list[float]]:
    """Colours a few pixels in from each corner: top-left, top-right, bottom-left, bottom-right."""
    image = load(data)
    w, h = image.width, image.height
    return [pixel(data, x, y) for x, y in ((3, 3), (w - 4, 3), (3, h - 4), (w - 4, h - 4))]


def same(found: list[list[float]], expected: list[tuple[int, int, int]]) -> bool:
    return all(close(f[:3], e) for f, e in zip(found, expected, strict=True))


@pytest.mark.parametrize(
    ("rotate", "flip", "size", "expected"),
    [
        (90, None, (100, 200), [BLUE, RED, YELLOW, GREEN]),
        (180, None, (200, 100), [YELLOW, BLUE, GREEN, RED]),
        (270, None, (100, 200), [GREEN, YELLOW, RED, BLUE]),
        (0, Flip.HORIZONTAL, (200, 100), [GREEN, RED, YELLOW, BLUE]),
        (0, Flip.VERTICAL, (200, 100), [BLUE, YELLOW, RED, GREEN]),
        (90, Flip.HORIZONTAL, (100, 200), [RED, BLUE, GREEN, YELLOW]),  # rotate, then flip
    ],
)
def test_rotate_and_flip(
    rotate: int, flip: Flip | None, size: tuple[int, int], expected: list[Any]
) -> None:
    made = one(PICTURE, rotate=rotate, flip=flip)
    assert (made.width, made.height) == size
    assert same(corners(made.data), expected)


def test_rotate_applies_after_exif_orientation() -> None:
    # stored turned a quarter anticlockwise, with EXIF 6 saying "turn it clockwise to show"
    stored = quadrants(100, 200, [GREEN, YELLOW, RED, BLUE])
    tagged = save(with_fields(stored, orientation=6), ".jpg", Q=95)
    shown = one(tagged)
    assert (shown.width, shown.height) == (200, 100)
    assert same(corners(shown.data), [RED, GREEN, BLUE, YELLOW])
    turned = one(tagged, rotate=90)  # a quarter more on top of what EXIF says
    assert (turned.width, turned.height) == (100, 200)
    assert same(corners(turned.data), [BLUE, RED, YELLOW, GREEN])


def test_a_region_is_cut_first_then_the_op_applies() -> None:
    # the right half (green over yellow), then a 50-wide thumbnail of it
    made = one(PICTURE, op=Operation.THUMBNAIL, width=50, region=Region(100, 0, 100, 100))
    assert (made.width, made.height) == (50, 50)
    assert same(corners(made.data), [GREEN, GREEN, YELLOW, YELLOW])
    # in displayed pixels, and turned with the output
    turned = one(PICTURE, region=Region(0, 0, 100, 50), rotate=90)
    assert (turned.width, turned.height) == (50, 100)
    assert same(corners(turned.data), [RED, RED, RED, RED])


def test_a_region_outside_the_source_is_refused_before_decoding() -> None:
    facts = probe(PICTURE, LIMITS)
    spec = RenderSpec(Operation.CONVERT, region=Region(150, 0, 100, 100))
    with pytest.raises(InvalidSpec, match="not inside the 200x100 source"):
        check_outputs(facts, [spec], LIMITS)


def test_cover_and_resize_never_enlarge_unless_asked() -> None:
    cover = one(PICTURE, op=Operation.COVER, width=400, height=400)
    assert (cover.width, cover.height) == (100, 100)  # the largest square the source has
    resize = one(PICTURE, op=Operation.RESIZE, width=800, height=200)
    assert (resize.width, resize.height) == (200, 50)  # the asked 4:1, no side over the source
    enlarged = one(PICTURE, op=Operation.COVER, width=400, height=400, enlarge=True)
    assert (enlarged.width, enlarged.height) == (400, 400)


def test_pad_fills_the_exact_box_with_the_background() -> None:
    jpeg = one(
        PICTURE,
        op=Operation.THUMBNAIL,
        width=100,
        height=100,
        fit=Fit.PAD,
        background=(0, 0, 255, 255),
        format=OutputFormat.JPEG,
    )
    assert (jpeg.width, jpeg.height) == (100, 100)
    # the picture, 100x50, centred: blue bands above and below it
    assert close(pixel(jpeg.data, 50, 5)[:3], BLUE)
    assert close(pixel(jpeg.data, 10, 30)[:3], RED)
    assert close(pixel(jpeg.data, 90, 70)[:3], YELLOW)
    assert close(pixel(jpeg.data, 50, 95)[:3], BLUE)
    # without a background, PNG pads with transparency; the picture is never enlarged
    png = one(PICTURE, op=Operation.THUMBNAIL, width=400, height=400, fit=Fit.PAD)
    assert (png.width, png.height) == (400, 400)
    assert pixel(png.data, 5, 5)[3] == 0
    assert pixel(png.data, 200, 200)[3] == 255
    assert close(pixel(png.data, 101, 151)[:3], RED)  # 200x100 at (100, 150)


def test_blur_softens_an_edge_and_sharpen_steepens_it() -> None:
    edge = save(quadrants(100, 100, [WHITE, (0, 0, 0), WHITE, (0, 0, 0)]), ".png")
    plain = pixel(one(edge).data, 48, 50)[0]
    blurred = pixel(one(edge, blur=4.0).data, 48, 50)[0]
    assert plain == 255 and 128 < blurred < 250  # grey near the edge
    soft = save(load(one(edge, blur=2.0).data), ".png")
    before = _contrast_near(soft)
    after = _contrast_near(one(soft, sharpen=2.0).data)
    assert after > before


def _contrast_near(data: bytes) -> float:
    return float(pixel(data, 47, 50)[0] - pixel(data, 52, 50)[0])


def test_trim_cuts_borders_of_one_colour() -> None:
    framed = solid(120, 80, WHITE).draw_rect([255, 0, 0], 30, 20, 50, 30, fill=True)
    made = one(save(framed, ".png"), trim=10)
    assert (made.width, made.height) == (50, 30)
    assert same(corners(made.data), [RED] * 4)
    # then the op, on what is left
    thumb = one(save(framed, ".png"), op=Operation.THUMBNAIL, width=25, trim=10)
    assert (thumb.width, thumb.height) == (25, 15)
    # a picture of one colour keeps its size
    assert (one(save(solid(40, 30, WHITE), ".png"), trim=10).width) == 40


def test_dpr_multiplies_the_asked_size() -> None:
    made = one(PICTURE, op=Operation.THUMBNAIL, width=50, dpr=2)
    assert (made.width, made.height) == (100, 50)
    facts = probe(PICTURE, Limits(max_output_dimension=150))
    with pytest.raises(OutputTooLarge):
        check_outputs(
            facts,
            [RenderSpec(Operation.COVER, 100, 100, dpr=2, enlarge=True)],
            Limits(max_output_dimension=150),
        )


def test_steps_combine_with_a_smart_gravity_and_share_one_decode() -> None:
    busy = noise(300, 200)
    specs = [
        RenderSpec(Operation.COVER, 60, 60, gravity=Gravity.ATTENTION, rotate=90, format=PNG),
        RenderSpec(
            Operation.COVER,
            40,
            40,
            gravity=Gravity.ENTROPY,
            region=Region(0, 0, 150, 100),
            format=PNG,
        ),
        RenderSpec(
            Operation.THUMBNAIL, 50, 50, fit=Fit.PAD, blur=1.0, flip=Flip.VERTICAL, format=PNG
        ),
    ]
    made = render(save(busy, ".png"), specs, LIMITS)
    assert [(m.width, m.height) for m in made] == [(60, 60), (40, 40), (50, 50)]
    smart_in_region = made[1].crop
    assert smart_in_region is not None
    assert smart_in_region.left + smart_in_region.width <= 150
    assert smart_in_region.top + smart_in_region.height <= 100
