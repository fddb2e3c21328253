"""Thumbnail throughput: darkroom end to end against the raw imaging library and thumbor.

Every mode makes the same thumbnails (fit within 500x500, WebP quality 80) of the same
generated sources, large JPEGs (24-36 MP) and large PNGs (48 MP), in one run:

* ``raw``: one process per core, each thumbnailing its share of the files in a plain loop
  (``pyvips.Image.thumbnail_buffer`` + ``webpsave_buffer``, or darkroom's own
  ``darkroom.imaging.render`` with ``--raw-engine darkroom-imaging``, or Pillow);
* ``darkroom``: ``darkroom serve`` as a subprocess, jobs submitted over HTTP and waited on;
* ``thumbor``: thumbor 7 (Pillow engine, file loader, no storage), one process per core,
  driven by a small concurrent HTTP client.

Prints images/s per mode and source kind, the ratios, and the peak RSS (VmHWM) of every
server process. Everything talks to 127.0.0.1 only. See docs/performance.md.

    .venv/bin/python bench/thumbnails.py --images 60 --mode raw,darkroom,thumbor
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pyvips

# Run as `python bench/thumbnails.py` (docs/performance.md), Python puts bench/ on
# sys.path, not the repository root that the bench.* imports below resolve against;
# `python -m bench.thumbnails` from the root has it already.
if not __package__:
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from bench.thumbnail_report import Result, best_of, paired_ratios, report
from bench.thumbnail_runners import run_darkroom, run_raw, run_thumbor
from bench.thumbnail_sources import BENCH_DIR, REPO, WORK, generate, plan_sources

# The modules: thumbnail_sources (the images), process_sampling (peak RSS, CPU time,
# "others"), thumbnail_runners (raw loop, darkroom, thumbor), thumbnail_report (the table).

WARMUP_IMAGES = 2


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--images", type=int, default=60, help="JPEG sources (24-36 MP), default 60")
    p.add_argument("--png-images", type=int, default=8, help="PNG sources (48 MP), default 8")
    p.add_argument("--kinds", default="jpeg,png", help="source kinds: jpeg,png")
    p.add_argument(
        "--mode",
        default="raw,darkroom",
        help="comma list of raw,darkroom,darkroom-1,thumbor (in order); darkroom-1 is darkroom"
        " with one worker process, for the scaling ratio",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes per mode (raw loop, darkroom --workers, thumbor)",
    )
    p.add_argument(
        "--vips-concurrency",
        type=int,
        default=0,
        help="raw loop: libvips threads per process (0: library default, one per core)",
    )
    p.add_argument(
        "--raw-engine",
        choices=["pyvips", "pillow", "darkroom-imaging"],
        default="pyvips",
        help="raw loop: plain pyvips calls (default), Pillow with draft(), or "
        "darkroom.imaging.render (darkroom's own engine, same call its workers make)",
    )
    p.add_argument(
        "--submit",
        choices=["path", "upload"],
        default="path",
        help="darkroom: source path under DARKROOM_INPUT_ROOT, or multipart upload",
    )
    p.add_argument("--darkroom-bin", default=str(REPO / ".venv" / "bin" / "darkroom"))
    p.add_argument("--thumbor-venv", default=str(BENCH_DIR / ".venv-thumbor"))
    p.add_argument("--thumbor-spec", default="thumbor>=7.8,<8", help="pip requirement")
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed per mode and kind")
    p.add_argument("--startup-timeout", type=float, default=90)
    p.add_argument("--poll-interval", type=float, default=0.1, help="darkroom /v1/stats poll (s)")
    p.add_argument(
        "--repeat", type=int, default=1, help="run each mode N times, interleaved; keep the best"
    )
    p.add_argument("--regen", action="store_true", help="regenerate the source images")
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep darkroom data dirs and server logs under bench/.work",
    )
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args(argv)
    args.modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    args.kind_list = [k.strip() for k in args.kinds.split(",") if k.strip()]
    modes = {"raw", "darkroom", "darkroom-1", "thumbor"}
    bad = set(args.modes) - modes or set(args.kind_list) - {"jpeg", "png"}
    if bad:
        p.error(f"unknown mode or kind: {', '.join(sorted(bad))}")
    if min(args.images, args.png_images, args.workers, args.repeat) < 1:
        p.error("--images, --png-images, --workers and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    counts = {"jpeg": args.images, "png": args.png_images}
    plans = {
        k: (plan_sources(k, counts[k]), plan_sources(k, WARMUP_IMAGES, warm=True))
        for k in args.kind_list
    }
    generate([s for m, w in plans.values() for s in (*m, *w)], args.workers, args.regen)
    print(
        f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, "
        f"{os.cpu_count()} cores, {args.workers} workers per mode",
        flush=True,
    )
    results: list[Result] = []
    paired: list[str] = []
    for kind in args.kind_list:
        sources, warm = plans[kind]
        mb = sum(s.path.stat().st_size for s in sources) / 2**20
        print(f"{kind}: {len(sources)} images, {mb:.0f} MiB on disk", flush=True)
        # Read every source once so that no mode's first run pays for a cold page cache
        # (that made the first timed run up to three times slower than the others).
        for src in (*sources, *warm):
            src.path.read_bytes()
        runs: dict[str, list[Result]] = {m: [] for m in args.modes}
        for rep in range(args.repeat):
            for mode in args.modes:
                print(f"  {mode} (run {rep + 1}/{args.repeat}) ...", flush=True)
                if mode == "raw":
                    r = run_raw(kind, sources, warm, args)
                elif mode == "darkroom":
                    r = run_darkroom(kind, sources, warm, args)
                elif mode == "darkroom-1":
                    one = argparse.Namespace(**{**vars(args), "workers": 1})
                    r = run_darkroom(kind, sources, warm, one)
                    r.mode = "darkroom-1"
                else:
                    r = run_thumbor(kind, sources, warm, args)
                if r.rate:
                    print(
                        f"    {r.rate:.2f} images/s, others {r.other_cores:.2f} cores", flush=True
                    )
                else:
                    print(f"    failed: {r.error}", flush=True)
                runs[mode].append(r)
        results += [best_of(runs[m]) for m in args.modes]
        paired += paired_ratios(kind, runs)
    print()
    print("\n".join(report(results, args.workers)))
    print("\n".join(paired))
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in results], indent=2))
    return 0 if all(not r.error and not r.failed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
