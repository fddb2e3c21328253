"""HEIF (HEIC: iPhone photos) through pillow-heif, whose libheif has an HEVC decoder.

libheif applies the image's own transformations while decoding (``irot``/``imir``
rotation and mirroring, ``clap`` crop): a HEIF's orientation lives there, and its EXIF
orientation, which the HEIF specification says readers must ignore, is reset to 1 by
pillow-heif. The header therefore gives the decoded (displayed) size and orientation 1,
and the decode is already the right way up. AVIF stays with libvips (formats.LOADERS).
"""

from __future__ import annotations

import pillow_heif
import pyvips

from darkroom.imaging.errors import CorruptImage
from darkroom.imaging.geometry import Size
from darkroom.imaging.header import Header
from darkroom.imaging.libvips import VImage
from darkroom.imaging.loaders.in_memory import INTERPRETATIONS, from_pixels
from darkroom.imaging.source import ImageInput, python_file

# What libheif raises for data it cannot parse or decode.
_HEIF_ERRORS = (OSError, ValueError, RuntimeError, SyntaxError, EOFError)
_METADATA = {"exif": "exif-data", "xmp": "xmp-data"}  # pillow-heif info -> libvips field


def heif_header(source: ImageInput) -> Header:
    """The primary image's size as displayed, its colour profile, and how many images the
    file holds; parses the boxes, decodes nothing."""
    primary = _open(source)
    return Header(
        format="heif",
        stored=Size(*primary.size),
        orientation=1,
        has_icc_profile=bool(primary.info.get("icc_profile")),
        frames=max(1, len(primary)),
    )


def decode_heif(source: ImageInput, header: Header, keep_metadata: bool) -> VImage:
    """The primary image, 8-bit (HDR brought down), right way up, with its ICC profile;
    its EXIF and XMP too when ``keep_metadata``."""
    heif = _open(source)
    # As many threads as libvips may use here (DARKROOM_WORKER_THREADS in a worker), not
    # pillow-heif's default of 4, which would crowd the other workers' cores.
    pillow_heif.options.DECODE_THREADS = max(1, pyvips.concurrency_get())
    try:
        pixels, size, mode = heif.data, heif.size, heif.mode
    except _HEIF_ERRORS as exc:
        raise CorruptImage(f"decoding failed: {exc}"[:500]) from exc
    premultiplied = mode == "RGBa"
    if premultiplied:
        mode = "RGBA"
    if size != tuple(header.stored) or mode not in INTERPRETATIONS:
        raise CorruptImage(f"decoded a {mode} {size[0]}x{size[1]} image, not the header's")
    image = from_pixels(pixels, size, mode, heif.info.get("icc_profile"))
    if premultiplied:
        image = image.unpremultiply().cast("uchar")
    if keep_metadata:
        for key, field in _METADATA.items():
            if heif.info.get(key):
                image.set_type(pyvips.GValue.blob_type, field, heif.info[key])
    return image


def _open(source: ImageInput) -> pillow_heif.HeifFile:
    try:
        with python_file(source) as file:
            return pillow_heif.open_heif(file, convert_hdr_to_8bit=True, remove_stride=True)
    except _HEIF_ERRORS as exc:
        raise CorruptImage(f"unreadable heif header: {exc}"[:500]) from exc
