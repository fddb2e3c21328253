"""Which source formats are accepted, recognised by their magic bytes, and how to load them.

libvips would happily parse CSV, matrix, raw ``.vips`` files and SVG from a buffer, so
the decision is made here by signature, and each format is opened with its own loader
rather than libvips' content sniffing.
"""

from __future__ import annotations

from darkroom.imaging.spec import OutputFormat

# Source format -> libvips loader reading from a VipsSource.
LOADERS: dict[str, str] = {
    "jpeg": "jpegload_source",
    "png": "pngload_source",
    "webp": "webpload_source",
    "gif": "gifload_source",
    "avif": "heifload_source",
    "heif": "heifload_source",
    "tiff": "tiffload_source",
}

# Source formats whose extra pages are animation frames (TIFF pages and HEIF items are not).
ANIMATED_SOURCES = frozenset({"gif", "webp"})
ANIMATED_OUTPUTS = frozenset({OutputFormat.GIF, OutputFormat.WEBP})

_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})


def sniff(data: bytes) -> str | None:
    """The source format named by ``data``'s signature, or None when it is not accepted."""
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
    return None


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


def default_output(source_format: str) -> OutputFormat:
    """The output format when a spec names none: the source's own, where it is one."""
    try:
        return OutputFormat(source_format)
    except ValueError:
        return OutputFormat.JPEG
