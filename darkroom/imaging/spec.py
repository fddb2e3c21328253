"""Value types shared by probe and render."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Operation(StrEnum):
    THUMBNAIL = "thumbnail"  # fit within width x height, keep aspect
    RESIZE = "resize"  # exactly width x height, may distort
    COVER = "cover"  # fill width x height, crop by gravity
    CONVERT = "convert"  # same size, other format
    PAIR = "pair"  # one cover from all of a job's pages (imaging.pair), not per source


class Gravity(StrEnum):
    CENTRE = "centre"
    NORTH = "north"
    NORTH_EAST = "north_east"
    EAST = "east"
    SOUTH_EAST = "south_east"
    SOUTH = "south"
    SOUTH_WEST = "south_west"
    WEST = "west"
    NORTH_WEST = "north_west"
    # placed by looking at the pixels (darkroom.smart)
    ATTENTION = "attention"
    ENTROPY = "entropy"
    FACES = "faces"
    AUTO = "auto"
    FOCUS = "focus"  # centred on RenderSpec.focus


SMART_GRAVITIES = frozenset(
    {Gravity.ATTENTION, Gravity.ENTROPY, Gravity.FACES, Gravity.AUTO, Gravity.FOCUS}
)
DEFAULT_ANALYSIS_SIZE = 320


class OutputFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"
    GIF = "gif"


_MEDIA_TYPES = {
    OutputFormat.JPEG: "image/jpeg",
    OutputFormat.PNG: "image/png",
    OutputFormat.WEBP: "image/webp",
    OutputFormat.AVIF: "image/avif",
    OutputFormat.GIF: "image/gif",
}

_EXTENSIONS = {
    OutputFormat.JPEG: "jpg",
    OutputFormat.PNG: "png",
    OutputFormat.WEBP: "webp",
    OutputFormat.AVIF: "avif",
    OutputFormat.GIF: "gif",
}


def media_type(fmt: OutputFormat) -> str:
    return _MEDIA_TYPES[fmt]


def extension(fmt: OutputFormat) -> str:
    return _EXTENSIONS[fmt]


class Flip(StrEnum):
    HORIZONTAL = "horizontal"  # left and right swap
    VERTICAL = "vertical"  # top and bottom swap


class Fit(StrEnum):
    """How a thumbnail meets its box: ``contain`` (the default) makes the output the
    picture's own shape within the box; ``pad`` makes the output the whole box, the
    picture centred in it and the rest ``background``."""

    CONTAIN = "contain"
    PAD = "pad"


@dataclass(frozen=True)
class Region:
    """A rectangle of the source as displayed (EXIF orientation applied), in pixels."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class WatermarkSpec:
    """Another image placed on an output, already read (the worker resolves where from)."""

    image: bytes
    gravity: Gravity = Gravity.SOUTH_EAST
    opacity: float = 1.0  # 0..1
    scale: float = 0.25  # the watermark's width as a share of the output's
    margin: int = 0  # pixels between it and the output's edges


@dataclass(frozen=True)
class RenderSpec:
    """One output to produce from a source.

    ``width``/``height`` may be None where the operation allows it (thumbnail with one
    side given, convert); ``format`` None keeps the source format where it is an output
    format (jpeg otherwise); ``quality`` None uses the format's default.
    """

    op: Operation
    width: int | None = None
    height: int | None = None
    gravity: Gravity = Gravity.CENTRE
    format: OutputFormat | None = None
    quality: int | None = None
    keep_metadata: bool = False
    focus: tuple[float, float] | None = None  # (x, y), fractions of the displayed picture
    max_analysis_size: int = DEFAULT_ANALYSIS_SIZE  # longest side a smart gravity looks at
    enlarge: bool = False  # scale a source smaller than the box up to it
    rotate: int = 0  # 0, 90, 180 or 270 degrees clockwise, after EXIF orientation
    flip: Flip | None = None  # after rotate
    region: Region | None = None  # cut from the displayed source first
    fit: Fit = Fit.CONTAIN  # thumbnail only
    background: tuple[int, int, int, int] | None = None  # RGBA: pad, and under alpha for JPEG
    blur: float | None = None  # Gaussian sigma, in output pixels
    sharpen: float | None = None  # sigma, in output pixels
    trim: float | None = None  # cut borders within this distance of the corner colour
    dpr: float = 1.0  # width and height are multiplied by it
    watermark: WatermarkSpec | None = None
    progressive: bool = False  # progressive JPEG, interlaced PNG
    lossless: bool = False  # WebP and AVIF
    effort: int | None = None  # WebP (0-6, more counts as 6) and AVIF (0-9); None: encode's
    max_bytes: int | None = None  # lower the quality until the output fits
    keep_icc: bool = False  # keep the colour profile (keep_metadata keeps it too)


@dataclass(frozen=True)
class Crop:
    """Where a cover output was cut from, in displayed source pixels, and who decided."""

    left: int
    top: int
    width: int
    height: int
    method: str  # a gravity: centre, north, …, attention, entropy, faces, focus
    confidence: float | None  # 0..1 for attention, entropy and faces; None otherwise


@dataclass(frozen=True)
class Limits:
    max_source_pixels: int = 50_000_000
    max_source_dimension: int = 65_000
    max_frames: int = 256
    max_output_dimension: int = 8192
    # width x height of one output, times its frames when animated: what encoding costs
    # grows with it (AVIF peaks near 15 bytes per output pixel), whatever the source's size
    max_output_pixels: int = 50_000_000


@dataclass(frozen=True)
class SourceFacts:
    format: str  # jpeg, png, webp, gif, avif, heif, tiff, bmp, ico, svg
    width: int  # as displayed, after EXIF orientation
    height: int
    orientation: int  # EXIF orientation tag, 1 when absent
    has_icc_profile: bool
    frames: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Rendered:
    data: bytes
    format: OutputFormat
    width: int
    height: int
    frames: int = 1
    crop: Crop | None = None  # cover outputs
    quality: int | None = None  # as encoded (max_bytes may lower it); None: PNG, GIF, lossless

    @property
    def media_type(self) -> str:
        return media_type(self.format)
