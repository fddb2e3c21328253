"""Facts about a source image, read from its header without decoding pixels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from darkroom.imaging.errors import CorruptImage, ImageTooLarge, InvalidSpec, UnsupportedImage
from darkroom.imaging.formats import ANIMATED_SOURCES, LOADERS, sniff, unreadable
from darkroom.imaging.geometry import Size
from darkroom.imaging.header import QUARTER_TURNS
from darkroom.imaging.header import Header as Header
from darkroom.imaging.libvips import field_int, has_field, libvips_errors, open_image
from darkroom.imaging.loaders.heif import heif_header
from darkroom.imaging.loaders.pillow_formats import bmp_header, ico_header
from darkroom.imaging.loaders.svg import svg_header
from darkroom.imaging.source import ImageInput, check_input, read_head, size_and_sha256
from darkroom.imaging.spec import Limits, SourceFacts

# Header readers of the formats darkroom.imaging.loaders decodes (formats.OWN_LOADERS).
_OWN_HEADERS: dict[str, Callable[[ImageInput], Header]] = {
    "heif": heif_header,
    "svg": svg_header,
    "bmp": bmp_header,
    "ico": ico_header,
}


def probe(
    source: ImageInput, limits: Limits, *, sha256: str | None = None, page: int | None = None
) -> SourceFacts:
    """Format, displayed size, orientation, colour profile and frame count of ``source``
    (of its page ``page``, when one is asked for).

    ``source`` is the image's bytes or the path of a file holding them; ``sha256``, the
    caller's digest of those bytes if it already has one, spares hashing them again. Raises
    SourceUnreadable (a file that cannot be read), UnsupportedImage (not an accepted
    format), CorruptImage (header unreadable), ImageTooLarge (over ``limits``, decided
    from the header alone) or InvalidSpec (no such page).
    """
    header = read_header(source, limits, page)
    if sha256 is None:
        size, sha256 = size_and_sha256(source)
    else:
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
    return SourceFacts(
        format=header.format,
        width=header.displayed.width,
        height=header.displayed.height,
        orientation=header.orientation,
        has_icc_profile=header.has_icc_profile,
        frames=header.frames,
        bytes=size,
        sha256=sha256,
    )


def read_header(source: ImageInput, limits: Limits, page: int | None = None) -> Header:
    """``probe`` without the hash: what render needs before it decodes."""
    fmt = sniff(read_head(check_input(source)))
    if fmt is None:
        raise UnsupportedImage(
            "not a JPEG, PNG, WebP, GIF, AVIF, HEIF, TIFF, SVG, BMP or ICO image"
        )
    if (why := unreadable(fmt)) is not None:
        raise UnsupportedImage(why)
    own_header = _OWN_HEADERS.get(fmt)
    header = own_header(source) if own_header is not None else _libvips_header(source, fmt)
    if page is not None:
        header = _of_page(source, header, page)
    _enforce(header, limits)
    return header


def _of_page(source: ImageInput, header: Header, page: int) -> Header:
    """The header of page ``page`` (from 0) of a source with several (TIFF pages, frames
    of an animation, images of a HEIF read by libvips); InvalidSpec when it has no such
    page. A page may be a size of its own."""
    if page >= header.frames:
        pages = f"{header.frames} page" + ("s" if header.frames > 1 else "")
        raise InvalidSpec(f"page {page} was asked for; the source has {pages}")
    if page == 0 or header.format in _OWN_HEADERS:
        return replace(header, page=page)
    with libvips_errors(CorruptImage, f"unreadable {header.format} page {page}"):
        image = open_image(source, LOADERS[header.format], access="sequential", page=page)
        size = Size(int(image.width), int(image.height))
    return replace(header, stored=size, page=page)


def _libvips_header(source: ImageInput, fmt: str) -> Header:
    with libvips_errors(CorruptImage, f"unreadable {fmt} header"):
        # Sequential access makes libvips parse the header now and leave pixels alone.
        image = open_image(source, LOADERS[fmt], access="sequential")
        orientation = field_int(image, "orientation", 1)
        return Header(
            format=fmt,
            stored=Size(int(image.width), int(image.height)),
            orientation=orientation if 1 <= orientation <= 8 else 1,
            has_icc_profile=has_field(image, "icc-profile-data"),
            frames=max(1, field_int(image, "n-pages", 1)),
        )


def header_from_facts(facts: SourceFacts, limits: Limits, page: int | None = None) -> Header:
    """The header that ``probe`` read to report ``facts`` (of ``page``, when it was asked
    for one), without reading it again."""
    displayed = Size(facts.width, facts.height)
    quarter_turned = facts.orientation in QUARTER_TURNS
    header = Header(
        format=facts.format,
        stored=displayed.transposed() if quarter_turned else displayed,
        orientation=facts.orientation,
        has_icc_profile=facts.has_icc_profile,
        frames=facts.frames,
        page=page,
    )
    _enforce(header, limits)
    return header


def _enforce(header: Header, limits: Limits) -> None:
    width, height = header.stored
    if max(width, height) > limits.max_source_dimension:
        raise ImageTooLarge(
            f"{width}x{height} has a side over {limits.max_source_dimension} pixels"
        )
    if width * height > limits.max_source_pixels:
        raise ImageTooLarge(
            f"{width}x{height} is {width * height} pixels, over {limits.max_source_pixels}"
        )
    # Only animations decode every frame; a TIFF's or HEIF's first image is decoded alone.
    if header.frames > limits.max_frames and header.format in ANIMATED_SOURCES:
        raise ImageTooLarge(f"{header.frames} frames, over {limits.max_frames}")
