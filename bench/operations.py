"""What each output operation (docs/api.md, "Operations, by example") and placeholders cost,
against a plain thumbnail of the same source, in one run.

One command: ``.venv/bin/python bench/operations.py``. Each case renders one output of
the same 24 MP photo-like JPEG (bench/thumbnail_sources.py) with darkroom.imaging.render,
in this process, set up as a worker is (one libvips thread): an 800 px wide WebP
thumbnail, alone (the baseline) or with one field added. The cases run in turns,
``--rounds`` times, and each figure is the median of its runs; the ratio is that median
over the baseline's. The subject is the imaging pipeline, so no
HTTP is involved (bench/thumbnails.py measures the service as a whole).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyvips

if not __package__:
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from bench.thumbnail_sources import WORK, generate, plan_sources
from darkroom.imaging import (
    Fit,
    Flip,
    Gravity,
    Limits,
    Operation,
    OutputFormat,
    Region,
    RenderSpec,
    WatermarkSpec,
    render,
)
from darkroom.imaging.runtime import configure_for_worker

BASE = RenderSpec(Operation.THUMBNAIL, width=800, format=OutputFormat.WEBP)
LIMITS = Limits()


def logo() -> bytes:
    """A 400x200 PNG with alpha: what a watermark usually is."""
    text = pyvips.Image.text("darkroom", dpi=300, font="sans bold").cast("uchar")
    alpha = text.embed(10, 10, 400, 200).resize(1)
    white = alpha.new_from_image([255, 255, 255])
    return bytes(white.bandjoin(alpha).copy(interpretation="srgb").pngsave_buffer())


def cases() -> dict[str, Callable[[Path], object]]:
    mark = WatermarkSpec(image=logo(), gravity=Gravity.SOUTH_EAST, opacity=0.6, scale=0.3)

    def one(**changes: object) -> Callable[[Path], object]:
        spec = replace(BASE, **changes)  # type: ignore[arg-type]
        return lambda path: render(path, [spec], LIMITS)

    def with_placeholders(path: Path) -> object:
        return render(path, [BASE], LIMITS, on_placeholders=lambda _: None)

    return {
        "plain thumbnail (baseline)": one(),
        "rotate 90": one(rotate=90),
        "flip horizontal": one(flip=Flip.HORIZONTAL),
        "region (a quarter)": one(region=Region(0, 0, 3000, 2000)),
        "trim 10": one(trim=10.0),
        "fit pad 800x800": one(height=800, fit=Fit.PAD),
        "dpr 2 (1600 px)": one(dpr=2.0),
        "blur 8": one(blur=8.0),
        "sharpen 1": one(sharpen=1.0),
        "watermark": one(watermark=mark),
        "progressive JPEG": one(format=OutputFormat.JPEG, progressive=True),
        "JPEG (its baseline)": one(format=OutputFormat.JPEG),
        "lossless WebP": one(lossless=True),
        "max_bytes 40 kB": one(max_bytes=40_000),
        "keep_icc": one(keep_icc=True),
        "placeholders": with_placeholders,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_for_worker(threads=1)  # as a worker runs: one libvips thread, no cache
    [source] = plan_sources("jpeg", 1)
    generate([source], processes=1, regen=False)
    path = source.path
    measured = cases()
    times: dict[str, list[float]] = {name: [] for name in measured}
    for run in measured.values():  # warm: libraries loaded, caches as in a worker
        run(path)
    for _ in range(args.rounds):
        for name, run in measured.items():
            began = time.perf_counter()
            run(path)
            times[name].append(time.perf_counter() - began)
    base = statistics.median(times["plain thumbnail (baseline)"])
    print(f"source: {source.width}x{source.height} JPEG ({WORK.name}); median of {args.rounds}")
    print(f"{'case':<28} {'ms':>8} {'x baseline':>11}")
    for name, runs in times.items():
        middle = statistics.median(runs)
        print(f"{name:<28} {middle * 1000:>8.1f} {middle / base:>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
