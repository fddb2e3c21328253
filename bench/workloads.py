"""What the throughput bench asks every mode to make of each source: a workload's outputs.

An output fits the picture within ``box`` x ``box`` keeping its aspect ratio, in one format
at QUALITY. darkroom makes a workload's outputs in one job (one decode); thumbor serves
one request per output; the raw loop calls the library once per output. The same output
is checked the same way whichever mode made it (``check_output``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyvips

QUALITY = 80  # every output's nominal quality, in every mode

_LOADERS = {"webp": "webpload", "jpeg": "jpegload", "avif": "heifload"}


@dataclass(frozen=True)
class Output:
    name: str
    box: int
    format: str  # webp | jpeg | avif

    def darkroom_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op": "thumbnail",
            "width": self.box,
            "height": self.box,
            "format": self.format,
            "quality": QUALITY,
        }

    def thumbor_path(self, file_name: str) -> str:
        """thumbor's URL for it: ``fit-in`` is "fit within the box" (plain WxH would crop)."""
        box = f"{self.box}x{self.box}"
        return f"/unsafe/fit-in/{box}/filters:format({self.format}):quality({QUALITY})/{file_name}"

    def expected_size(self, width: int, height: int) -> tuple[int, int]:
        scale = min(self.box / width, self.box / height, 1.0)
        return round(width * scale), round(height * scale)

    def render_raw(self, data: bytes) -> bytes:
        """The raw library loop's call: libvips' own thumbnail and the format's saver at
        its default settings."""
        image = pyvips.Image.thumbnail_buffer(data, self.box, height=self.box)
        if self.format == "webp":
            written = image.webpsave_buffer(Q=QUALITY)
        elif self.format == "jpeg":
            written = image.jpegsave_buffer(Q=QUALITY)
        else:
            written = image.heifsave_buffer(Q=QUALITY, compression="av1")
        return bytes(written)


@dataclass(frozen=True)
class Workload:
    name: str
    outputs: tuple[Output, ...]

    @property
    def described(self) -> str:
        return " + ".join(f"{o.box} px {o.format.upper()}" for o in self.outputs)


THUMBNAIL = Workload("thumbnail", (Output("thumb", 500, "webp"),))
RESPONSIVE = Workload(
    "responsive",
    (
        Output("w320", 320, "webp"),
        Output("w640", 640, "webp"),
        Output("j1280", 1280, "jpeg"),
        Output("a640", 640, "avif"),
    ),
)
AVIF = Workload("avif", (Output("thumb", 500, "avif"),))
SMALL = Workload("small", (Output("thumb", 320, "webp"),))


def check_output(data: bytes, output: Output, expected: tuple[int, int]) -> str:
    """Empty when ``data`` decodes as ``output``'s format at the expected size, else what
    is wrong."""
    try:
        image = pyvips.Image.new_from_buffer(data, "")
        loader = str(image.get("vips-loader"))
    except pyvips.Error as exc:
        return f"{output.name}: does not decode: {exc}"
    if not loader.startswith(_LOADERS[output.format]):
        return f"{output.name}: not {output.format} ({loader})"
    got = (image.width, image.height)
    if abs(got[0] - expected[0]) > 1 or abs(got[1] - expected[1]) > 1:
        return f"{output.name}: {got[0]}x{got[1]}, expected {expected[0]}x{expected[1]}"
    return ""
