"""Source formats beyond the libvips defaults, each from a file the test makes: HEIC
(pillow-heif), SVG (hostile references included), BMP, ICO, multi-page TIFF, and JPEG XL,
which this libvips cannot read and which is refused."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import pillow_heif
import pytest
import pyvips
from PIL import Image

from darkroom.imaging import (
    ImageTooLarge,
    InvalidSpec,
    Limits,
    Operation,
    OutputFormat,
    RenderSpec,
    UnsupportedImage,
    probe,
    render,
)
from darkroom.imaging.decode import open_source
from darkroom.imaging.formats import LOADERS
from darkroom.imaging.loaders import svg as svg_loader
from darkroom.imaging.probe import read_header
from tests.helpers import LoopbackServer, on_sqlite
from tests.imaging.conftest import AsInput
from tests.imaging.samples import (
    BLUE,
    GREEN,
    RED,
    animation,
    close,
    load,
    png_claiming,
    quadrants,
    save,
    solid,
)

LIMITS = Limits()
PNG = OutputFormat.PNG
CONVERT_PNG = RenderSpec(Operation.CONVERT, format=PNG)
# Colours as a Display P3 camera stores them, far enough from their sRGB equivalents
# that a decode ignoring the profile is caught.
P3_ORANGE = (200, 100, 50)
P3_TEAL = (40, 150, 160)
SECRET = (13, 201, 37)  # the colour of the local file a hostile SVG points at


def p3_profile() -> bytes:
    return bytes(solid(1, 1, RED).icc_transform("p3", input_profile="srgb").get("icc-profile-data"))


def in_srgb(p3_colour: tuple[int, int, int]) -> list[float]:
    tagged = solid(1, 1, p3_colour).cast("uchar")
    return list(tagged.icc_transform("srgb", input_profile="p3", intent="relative")(0, 0))


def heic(picture: Image.Image, orientation: int, icc_profile: bytes) -> bytes:
    """``picture`` as an iPhone-like HEIC: HEVC, EXIF orientation, ICC profile."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    pillow_heif.from_pillow(picture).save(
        out, format="HEIF", quality=95, chroma=444, exif=exif.tobytes(), icc_profile=icc_profile
    )
    return out.getvalue()


def pixel_of(data: bytes, x: int, y: int) -> list[float]:
    return list(load(data)(x, y))


def test_heic_is_decoded_upright_in_srgb_with_its_metadata(as_input: AsInput) -> None:
    stored = Image.new("RGB", (60, 40), P3_ORANGE)
    stored.paste(P3_TEAL, (30, 0, 60, 40))  # left orange, right teal, as stored
    source = as_input(heic(stored, 6, p3_profile()))  # 6: turn a quarter clockwise to show

    facts = probe(source, LIMITS)
    assert (facts.format, facts.width, facts.height) == ("heif", 40, 60)
    assert (facts.orientation, facts.has_icc_profile) == (1, True)  # libheif turned it

    kept = RenderSpec(Operation.CONVERT, format=OutputFormat.JPEG, keep_metadata=True)
    shown, jpeg = render(source, [CONVERT_PNG, kept], LIMITS)
    assert (shown.format, shown.width, shown.height) == (PNG, 40, 60)
    assert close(pixel_of(shown.data, 20, 10), in_srgb(P3_ORANGE), 6)  # left went on top
    assert close(pixel_of(shown.data, 20, 50), in_srgb(P3_TEAL), 6)
    assert not close(in_srgb(P3_ORANGE), P3_ORANGE, 12)  # the profile mattered
    assert load(jpeg.data).get_typeof("exif-data") != 0


def test_heic_alpha_stored_premultiplied_is_unpremultiplied() -> None:
    stored = pillow_heif.from_pillow(Image.new("RGBA", (16, 16), (100, 50, 25, 128)))
    stored[0].premultiplied_alpha = True
    out = io.BytesIO()
    stored.save(out, quality=-1, chroma=444)
    shown = render(out.getvalue(), [CONVERT_PNG], LIMITS)[0]
    assert close(pixel_of(shown.data, 8, 8), (199, 100, 50, 128), 3)


def test_avif_still_decodes_through_libvips(as_input: AsInput) -> None:
    source = as_input(save(quadrants(64, 48, [RED, BLUE, BLUE, RED]), ".avif", lossless=True))
    header = read_header(source, LIMITS)
    decoded = open_source(source, header, 1.0, False, False)
    assert (header.format, decoded.get("vips-loader")) == ("avif", LOADERS["avif"])
    assert close(pixel_of(render(source, [CONVERT_PNG], LIMITS)[0].data, 8, 8), RED)


def svg(width: int | str, height: int | str, body: str) -> bytes:
    return (
        "<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink'"
        f" width='{width}' height='{height}'>{body}</svg>"
    ).encode()


def test_svg_is_rasterised_at_the_size_the_output_needs(as_input: AsInput) -> None:
    source = as_input(
        svg(
            400,
            200,
            "<rect width='200' height='200' fill='red'/><rect x='200' width='200' height='200'"
            " fill='blue'/>",
        )
    )
    header = read_header(source, LIMITS)
    assert (header.format, header.stored) == ("svg", (400, 200))
    assert open_source(source, header, 0.25, False, False).width == 100  # not 400, then shrunk
    thumb, default = render(
        source, [RenderSpec(Operation.THUMBNAIL, 100), RenderSpec(Operation.CONVERT)], LIMITS
    )
    assert (thumb.format, thumb.width, thumb.height) == (PNG, 100, 50)  # PNG by default
    assert close(pixel_of(thumb.data, 20, 25), (*RED, 255))
    assert close(pixel_of(thumb.data, 80, 25), (*BLUE, 255))
    assert (default.format, default.width) == (PNG, 400)


def test_an_enlarged_svg_is_drawn_at_that_size_not_blown_up(as_input: AsInput) -> None:
    halves = (
        "<rect width='20' height='20' fill='red'/><rect x='20' width='20' height='20' fill='blue'/>"
    )
    [big] = render(
        as_input(svg(40, 20, halves)), [RenderSpec(Operation.THUMBNAIL, 400, enlarge=True)], LIMITS
    )
    assert (big.width, big.height) == (400, 200)
    # drawn at 400 px, the edge between the halves is one pixel sharp; a 40 px raster
    # blown up tenfold would blur it over several
    assert close(pixel_of(big.data, 198, 100), (*RED, 255))
    assert close(pixel_of(big.data, 201, 100), (*BLUE, 255))


def test_svg_never_reads_a_file_or_fetches_a_url(
    as_input: AsInput, tmp_path: Path, loopback: LoopbackServer
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(save(solid(8, 8, SECRET), ".png"))
    linked = tmp_path / "linked.svg"
    linked.write_bytes(svg(8, 8, "<rect id='r' width='8' height='8' fill='#0dc925'/>"))
    served = loopback.serve_bytes("/served.png", secret.read_bytes(), "image/png")
    everywhere = "x='0' y='0' width='40' height='40'"
    hostile = (
        "<?xml version='1.0'?>\n"
        f"<!DOCTYPE svg SYSTEM '{loopback.url('/dtd')}'>\n"
        + svg(
            40,
            40,
            f"<style>@import url({loopback.url('/style.css')});</style>"
            "<rect width='40' height='40' fill='white'/>"
            f"<image href='file:///etc/passwd' {everywhere}/>"
            f"<image xlink:href='{secret}' {everywhere}/>"
            f"<image href='file://{secret}' {everywhere}/>"
            f"<image href='secret.png' {everywhere}/>"
            f"<use xlink:href='file://{linked}#r' transform='scale(5)'/>"
            f"<image href='{served}' {everywhere}/>"
            f"<rect x='0' y='0' width='40' height='40' fill='url({loopback.url('/p')}#g)'/>"
            "<rect x='30' y='30' width='10' height='10' fill='blue'/>",
        ).decode()
    )
    source = as_input(hostile.encode())  # a file is written beside those it names

    rendered = render(source, [CONVERT_PNG], LIMITS)[0]
    image = load(rendered.data)
    assert close(image(35, 35), (*BLUE, 255))  # the drawing itself was rendered
    assert close(image(5, 5), (255, 255, 255, 255))
    near_secret = ((image.extract_band(0, n=3) - list(SECRET)).abs() < 24).bandand()
    assert near_secret.max() == 0
    assert loopback.hits == {}


def test_svg_bounds(as_input: AsInput, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImageTooLarge):
        probe(as_input(svg(100_000, 100_000, "")), LIMITS)  # declared 10 G pixels
    with pytest.raises(ImageTooLarge):
        probe(as_input(svg("20in", "10in", "")), Limits(max_source_pixels=1_000_000))
    document = svg(10, 10, "<!--" + "x" * 2000 + "-->")
    monkeypatch.setattr(svg_loader, "MAX_SVG_BYTES", len(document) - 1)
    with pytest.raises(ImageTooLarge, match="bytes"):
        probe(as_input(document), LIMITS)


def bmp(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="BMP")
    return out.getvalue()


def test_bmp_and_ico_are_decoded(as_input: AsInput) -> None:
    picture = Image.new("RGB", (40, 30), RED)
    picture.paste(BLUE, (20, 0, 40, 30))
    paletted = bmp(picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=4))
    icon = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    icon.paste((*BLUE, 255), (16, 16, 48, 48))
    ico = io.BytesIO()
    icon.save(ico, format="ICO", sizes=[(16, 16), (48, 48), (32, 32)])

    bmp_facts = probe(as_input(paletted), LIMITS)
    assert (bmp_facts.format, bmp_facts.width, bmp_facts.height) == ("bmp", 40, 30)
    shown = render(as_input(paletted), [RenderSpec(Operation.CONVERT)], LIMITS)[0]
    assert (shown.format, shown.width, shown.height) == (OutputFormat.JPEG, 40, 30)
    assert close(pixel_of(shown.data, 5, 15), RED)
    assert close(pixel_of(shown.data, 35, 15), BLUE)

    ico_facts = probe(as_input(ico.getvalue()), LIMITS)
    assert (ico_facts.format, ico_facts.width, ico_facts.height) == ("ico", 48, 48)  # largest
    shown = render(as_input(ico.getvalue()), [RenderSpec(Operation.CONVERT)], LIMITS)[0]
    assert (shown.format, shown.width, shown.height) == (PNG, 48, 48)  # alpha kept
    assert pixel_of(shown.data, 2, 2)[3] == 0
    assert close(pixel_of(shown.data, 24, 24), (*BLUE, 255))


def bmp_claiming(width: int, height: int) -> bytes:
    """A BMP file and info header claiming ``width`` x ``height`` at 24 bits, no pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


def ico_holding(icon: bytes, listed: int = 16) -> bytes:
    """An ICO whose directory lists one ``listed``-pixel icon, holding ``icon``."""
    entry = struct.pack("<BBBBHHII", listed, listed, 0, 0, 1, 32, len(icon), 22)
    return struct.pack("<HHH", 0, 1, 1) + entry + icon


def test_bmp_and_ico_sizes_are_checked_before_decoding(as_input: AsInput) -> None:
    with pytest.raises(ImageTooLarge):
        probe(as_input(bmp_claiming(30_000, 30_000)), LIMITS)
    # The directory says 16x16; the PNG inside says 20,000 pixels square.
    with pytest.raises(ImageTooLarge):
        probe(as_input(ico_holding(png_claiming(20_000, 20_000))), LIMITS)


def test_multi_page_tiff_gives_its_first_page(as_input: AsInput) -> None:
    first, second = Image.new("RGB", (40, 30), RED), Image.new("RGB", (80, 60), BLUE)
    pages = io.BytesIO()
    first.save(pages, format="TIFF", save_all=True, append_images=[second])
    source = as_input(pages.getvalue())
    facts = probe(source, Limits(max_frames=1))  # pages are not frames to decode
    assert (facts.format, facts.width, facts.height, facts.frames) == ("tiff", 40, 30, 2)
    shown = render(source, [CONVERT_PNG], LIMITS)[0]
    assert (shown.width, shown.height) == (40, 30)
    assert close(pixel_of(shown.data, 20, 15), RED)
    # unless another page is asked for: a size of its own
    second_facts = probe(source, LIMITS, page=1)
    assert (second_facts.width, second_facts.height) == (80, 60)
    [asked] = render(source, [CONVERT_PNG], LIMITS, facts=second_facts, page=1)
    assert (asked.width, asked.height) == (80, 60)
    assert close(pixel_of(asked.data, 40, 30), BLUE)
    with pytest.raises(InvalidSpec, match="page 2 was asked for; the source has 2 pages"):
        probe(source, LIMITS, page=2)


def test_a_page_of_an_animation_is_a_still_of_that_frame(as_input: AsInput) -> None:
    gif = as_input(save(animation(20, 10, [RED, GREEN, BLUE]), ".gif"))
    [still] = render(gif, [RenderSpec(Operation.CONVERT, format=OutputFormat.GIF)], LIMITS, page=2)
    assert (still.width, still.height, still.frames) == (20, 10, 1)
    assert close(pixel_of(still.data, 10, 5)[:3], BLUE)


JXL_CODESTREAM = b"\xff\x0a" + bytes(30)
JXL_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n" + b"\x00\x00\x00\x14ftypjxl \x00\x00\x00\x00jxl "


def engine_reads_jxl() -> bool:
    return bool(pyvips.type_find("VipsOperation", "jxlload_source"))


@pytest.mark.skipif(engine_reads_jxl(), reason="this libvips decodes JPEG XL")
@pytest.mark.parametrize("data", [JXL_CODESTREAM, JXL_CONTAINER], ids=["codestream", "box"])
def test_jpeg_xl_is_refused_where_libvips_cannot_read_it(as_input: AsInput, data: bytes) -> None:
    with pytest.raises(UnsupportedImage, match="JPEG XL"):
        probe(as_input(data), LIMITS)


@on_sqlite
@pytest.mark.skipif(engine_reads_jxl(), reason="this libvips decodes JPEG XL")
def test_submission_takes_new_formats_and_refuses_jpeg_xl(api_factory: Any) -> None:
    api = api_factory(workers=1)
    for data in (JXL_CODESTREAM, JXL_CONTAINER):
        refused = api.upload(data, filename="photo.jxl")
        assert (refused.status_code, refused.json()["error"]["code"]) == (415, "unsupported_image")
    convert = {"outputs": [{"op": "convert"}]}
    photo = heic(Image.new("RGB", (32, 24), RED), 1, p3_profile())
    drawing = svg(30, 20, "<rect width='30' height='20' fill='blue'/>")
    for data, formats in ((photo, ("heif", "jpeg")), (drawing, ("svg", "png"))):
        job = api.wait_job(api.upload(data, convert, filename="upload").json()["id"])
        assert job["status"] == "succeeded", job
        assert (job["sources"][0]["format"], job["outputs"][0]["format"]) == formats
