"""Which source formats are accepted, recognised by their magic bytes, and how to load them.

libvips would happily parse CSV, matrix, raw ``.vips`` files and SVG from a buffer, so
the decision is made here by signature, and each format is opened with its own loader
rather than libvips' content sniffing.
"""

from __future__ import annotations

import pyvips

from darkroom.imaging.spec import OutputFormat

# Source format -> libvips loader reading from a VipsSource.
LOADERS: dict[str, str] = {
    "jpeg": "jpegload_source",
    "png": "pngload_source",
    "webp": "webpload_source",
    "gif": "gifload_source",
    "avif": "heifload_source",
    "tiff": "tiffload_source",  # the first page
}
# Source formats decoded by darkroom.imaging.loaders: HEIF by pillow-heif (libvips' libheif
# here has no HEVC decoder), SVG by libvips with its own bounds, BMP and ICO by Pillow.
OWN_LOADERS = frozenset({"heif", "svg", "bmp", "ico"})
# Recognised, but what libvips cannot read in this build is refused at submission.
_ENGINE_LOADERS = {"jxl": "jxlload_source"}
_UNREADABLE = {"jxl": "a JPEG XL image, which this build of libvips cannot decode"}
LOADERS.update(
    (fmt, loader)
    for fmt, loader in _ENGINE_LOADERS.items()
    if pyvips.type_find("VipsOperation", loader) != 0
)

# Source formats whose extra pages are animation frames (TIFF pages and HEIF items are not).
ANIMATED_SOURCES = frozenset({"gif", "webp"})
ANIMATED_OUTPUTS = frozenset({OutputFormat.GIF, OutputFormat.WEBP})
# Drawn, not stored as pixels: rasterised at the size an output needs, larger included.
VECTOR_SOURCES = frozenset({"svg"})
# Drawings and icons, usually with transparency: PNG keeps both when no format is asked.
_PNG_BY_DEFAULT = frozenset({"svg", "ico"})

_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_JXL_BOX = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
_BMP_INFO_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})  # BITMAPCOREHEADER .. V5
_SVG_PROLOG_ENDS = {b"<?": b"?>", b"<!--": b"-->", b"<!DOCTYPE": b">"}
_SVG_NAME_ENDS = frozenset({b" ", b"\t", b"\r", b"\n", b">", b"/"})


def sniff(data: bytes) -> str | None:
    """The source format named by ``data``'s signature, or None when it is not one darkroom
    knows. A known format may still be unreadable here: see ``unreadable``."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if data[4:8] == b"ftyp":
        return _sniff_isobmff(data)
    if data.startswith((b"\xff\x0a", _JXL_BOX)):
        return "jxl"
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_INFO_SIZES:
        return "bmp"
    if data[:4] == b"\x00\x00\x01\x00" and data[4:6] != b"\x00\x00" and data[9:10] == b"\x00":
        return "ico"  # at least one icon, whose directory entry's reserved byte is 0
    if _starts_svg(data):
        return "svg"
    return None


def unreadable(source_format: str) -> str | None:
    """Why a recognised format cannot be read here, or None when it can."""
    if source_format in LOADERS or source_format in OWN_LOADERS:
        return None
    return _UNREADABLE.get(source_format, f"a {source_format} image, which darkroom cannot read")


def _sniff_isobmff(data: bytes) -> str | None:
    """AVIF or HEIF from the ``ftyp`` box: major brand, then the compatible brands."""
    box_size = int.from_bytes(data[:4], "big")
    if box_size < 16 or box_size > len(data):
        return None
    brands = [data[8:12]] + [data[i : i + 4] for i in range(16, box_size - 3, 4)]
    if any(brand in _AVIF_BRANDS for brand in brands):
        return "avif"
    if any(brand in _HEIF_BRANDS for brand in brands):
        return "heif"
    return None


def _starts_svg(data: bytes) -> bool:
    """Whether the first element, after an XML declaration, comments and a doctype, is
    ``<svg``."""
    rest = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    while opener := next((o for o in _SVG_PROLOG_ENDS if rest.startswith(o)), None):
        start = 0
        if opener == b"<!DOCTYPE" and b"[" in rest[: rest.find(b">")]:
            start = rest.find(b"]")  # past the internal subset
        end = rest.find(_SVG_PROLOG_ENDS[opener], start)
        if start < 0 or end < 0:
            return False
        rest = rest[end + len(_SVG_PROLOG_ENDS[opener]) :].lstrip()
    return rest.startswith(b"<svg") and rest[4:5] in _SVG_NAME_ENDS


def default_output(source_format: str) -> OutputFormat:
    """The output format when a spec names none: the source's own, where it is one; PNG
    for drawings and icons; JPEG otherwise."""
    if source_format in _PNG_BY_DEFAULT:
        return OutputFormat.PNG
    try:
        return OutputFormat(source_format)
    except ValueError:
        return OutputFormat.JPEG
