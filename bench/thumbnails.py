"""Throughput: darkroom end to end against the raw imaging library and thumbor.

Every mode makes the same outputs of the same generated sources in one run. The first
scenario, ``thumbnail`` (the default), makes one 500 px WebP (quality 80) of large JPEGs
(24-36 MP) and PNGs (48 MP); ``--scenario all`` runs the others, each with its own
sources and target (bench/scenarios.py): a responsive set of four outputs against thumbor,
uploads against path sources, AVIF against thumbor's, small images against the raw loop,
and the memory of every process on 48 MP PNGs. The modes:

* ``raw``: one process per core, each making its share of the files' outputs in a plain
  loop (``pyvips.Image.thumbnail_buffer`` + the format's saver, or darkroom's own
  ``darkroom.imaging.render`` with ``--raw-engine darkroom-imaging``, or Pillow);
* ``darkroom``: ``darkroom serve`` as a subprocess, one job per source (all its outputs)
  submitted over HTTP by path and waited on; ``darkroom-upload`` uploads the files;
* ``thumbor``: thumbor 7 (Pillow engine, file loader, no storage), one process per core,
  one request per output, driven by a small concurrent HTTP client.

Prints images/s per mode and source kind, the ratios, and the peak RSS (VmHWM) of every
server process. Everything talks to 127.0.0.1 only. See docs/performance.md.

    .venv/bin/python bench/thumbnails.py --images 60 --mode raw,darkroom,thumbor
    .venv/bin/python bench/thumbnails.py --scenario all
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

from bench.scenarios import ALL, SCENARIOS, Scenario, judged
from bench.thumbnail_report import Result, best_of, paired_ratios, report
from bench.thumbnail_runners import run_darkroom, run_raw, run_thumbor
from bench.thumbnail_sources import BENCH_DIR, KINDS, REPO, WORK, Source, generate, plan_sources

# The modules: thumbnail_sources (the images), process_sampling (peak RSS, CPU time,
# "others"), thumbnail_runners (raw loop, darkroom, thumbor), thumbnail_report (the table).

WARMUP_IMAGES = 2
FALLBACK_COUNT = 40  # sources of a kind no scenario and no option gives a count for
MODES = {"raw", "raw-darkroom", "darkroom", "darkroom-1", "darkroom-upload", "thumbor"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--images", type=int, default=60, help="JPEG sources (24-36 MP), default 60")
    p.add_argument("--png-images", type=int, default=8, help="PNG sources (48 MP), default 8")
    p.add_argument("--kinds", default="jpeg,png", help="source kinds: jpeg,png")
    p.add_argument(
        "--mode",
        default="raw,darkroom",
        help="comma list of raw,raw-darkroom,darkroom,darkroom-1,darkroom-upload,thumbor (in"
        " order); raw-darkroom is the raw loop calling darkroom.imaging.render, darkroom-1"
        " is darkroom with one worker process, for the scaling ratio",
    )
    p.add_argument(
        "--scenario",
        default="thumbnail",
        help=f"comma list of {','.join(SCENARIOS)}, or all ({','.join(ALL)}); --kinds and"
        " --mode apply to thumbnail only, the others have their own",
    )
    p.add_argument(
        "--count",
        action="append",
        default=[],
        metavar="KIND=N",
        help="sources of one kind in every scenario (jpeg24, jpeg5mb, jpeg2; each scenario"
        " has its defaults, bench/scenarios.py; jpeg and png: --images, --png-images)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=3,
        help="sources whose outputs are fetched and checked (and compared for SSIM)",
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
        "--repeat",
        type=int,
        help="run each mode N times, interleaved; keep the best (default: 1 for thumbnail,"
        " 3 for the other scenarios, whose ratios are the median of the runs' pairs)",
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
    names = [n.strip() for n in args.scenario.split(",") if n.strip()]
    args.scenarios = [SCENARIOS[n] for n in (ALL if names == ["all"] else names) if n in SCENARIOS]
    bad = set(args.modes) - MODES or set(args.kind_list) - set(KINDS)
    bad |= {n for n in names if n not in SCENARIOS and names != ["all"]}
    if bad:
        p.error(f"unknown mode, kind or scenario: {', '.join(sorted(bad))}")
    args.counts = {}  # --count's
    for item in args.count:
        kind, _, number = item.partition("=")
        if kind not in KINDS or not number.isdigit():
            p.error(f"--count wants KIND=N with KIND one of {', '.join(KINDS)}: {item!r}")
        args.counts[kind] = int(number)
    if min(args.images, args.png_images, args.workers, *args.counts.values()) < 1:
        p.error("--images, --png-images, --count and --workers must be at least 1")
    if args.repeat is not None and args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    needed: dict[str, int] = {}
    for sc in args.scenarios:
        for kind in sc.kinds or args.kind_list:
            needed[kind] = max(needed.get(kind, 0), source_count(sc, kind, args))
    plans = {
        k: (plan_sources(k, n), plan_sources(k, WARMUP_IMAGES, warm=True))
        for k, n in sorted(needed.items())
    }
    generate([s for m, w in plans.values() for s in (*m, *w)], args.workers, args.regen)
    print(
        f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, "
        f"{os.cpu_count()} cores, {args.workers} workers per mode",
        flush=True,
    )
    everything: list[Result] = []
    verdicts: list[str] = []
    for scenario in args.scenarios:
        results, lines = run_scenario(scenario, plans, args)
        everything += results
        verdicts += lines
    if len(args.scenarios) > 1:
        print("\nall scenarios:")
        print("\n".join(verdicts))
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in everything], indent=2))
    return 0 if all(not r.error and not r.failed for r in everything) else 1


def run_scenario(
    scenario: Scenario,
    plans: dict[str, tuple[list[Source], list[Source]]],
    args: argparse.Namespace,
) -> tuple[list[Result], list[str]]:
    """Every mode of the scenario on each of its kinds, interleaved; prints its report and
    returns the best runs and the lines judging its targets."""
    args.workload = scenario.workload
    modes = list(scenario.modes or args.modes)
    repeat = args.repeat or (1 if scenario.name == "thumbnail" else 3)
    print(f"\nscenario {scenario.name}: {scenario.workload.described}", flush=True)
    results: list[Result] = []
    lines: list[str] = []
    for kind in scenario.kinds or args.kind_list:
        planned, warm = plans[kind]
        sources = planned[: source_count(scenario, kind, args)]
        mb = sum(s.path.stat().st_size for s in sources) / 2**20
        print(f"{kind}: {len(sources)} images, {mb:.0f} MiB on disk", flush=True)
        # Read every source once so that no mode's first run pays for a cold page cache
        # (that made the first timed run up to three times slower than the others).
        for src in (*sources, *warm):
            src.path.read_bytes()
        runs: dict[str, list[Result]] = {m: [] for m in modes}
        for rep in range(repeat):
            for mode in modes:
                print(f"  {mode} (run {rep + 1}/{repeat}) ...", flush=True)
                runs[mode].append(_run_mode(mode, kind, sources, warm, args))
        results += [best_of(runs[m]) for m in modes]
        if scenario.name == "thumbnail":
            lines += paired_ratios(kind, runs)
        else:
            lines += judged(scenario, kind, runs)
    print()
    print("\n".join(report(results, args.workers, scenario.name == "thumbnail")))
    print("\n".join(lines))
    return results, lines


def source_count(scenario: Scenario, kind: str, args: argparse.Namespace) -> int:
    """Sources of ``kind`` the scenario runs: --count's, else the scenario's own, else
    --images / --png-images."""
    given = {"jpeg": args.images, "png": args.png_images}
    for counts in (args.counts, dict(scenario.counts), given):
        if kind in counts:
            return int(counts[kind])
    return FALLBACK_COUNT


def _run_mode(
    mode: str, kind: str, sources: list[Source], warm: list[Source], args: argparse.Namespace
) -> Result:
    if mode == "raw":
        r = run_raw(kind, sources, warm, args)
    elif mode == "raw-darkroom":
        engine = argparse.Namespace(**{**vars(args), "raw_engine": "darkroom-imaging"})
        r = run_raw(kind, sources, warm, engine)
        r.mode = mode
    elif mode == "darkroom-1":
        r = run_darkroom(kind, sources, warm, argparse.Namespace(**{**vars(args), "workers": 1}))
        r.mode = "darkroom-1"
    elif mode.startswith("darkroom"):
        r = run_darkroom(kind, sources, warm, args, mode)
    else:
        r = run_thumbor(kind, sources, warm, args)
    if r.rate:
        print(f"    {r.rate:.2f} images/s, others {r.other_cores:.2f} cores", flush=True)
    else:
        print(f"    failed: {r.error}", flush=True)
    return r


if __name__ == "__main__":
    sys.exit(main())
