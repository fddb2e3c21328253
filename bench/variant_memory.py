"""Peak memory of an API process converting outputs on the fly (AVIF variants).

One command: ``.venv/bin/python bench/variant_memory.py``. It makes a large stored output
once (a WIDTHxHEIGHT photo-like JPEG source, stored by a ``convert`` output as JPEG, or
as ``--stored`` says), then for each case starts a fresh ``darkroom serve --workers 0``
on that data directory, sends N concurrent
``GET /v1/jobs/{id}/outputs/big?format=avif&width=W&quality=Q`` (each a different
quality, so each a new variant; a 503 ``busy`` is retried after its Retry-After), and
reads the peak RSS (VmHWM in /proc/PID/status) of the API process and of its converter
processes (the highest of them) once every answer is in.
Cached variants are removed before each case. ``DARKROOM_*`` variables of the caller are
passed on (e.g. ``DARKROOM_VARIANT_CONCURRENCY=2``); ``--set K=V`` too.
docs/performance.md lists results.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyvips

# Run as `python bench/variant_memory.py`, Python puts bench/ on sys.path, not the
# repository root that the bench.* imports below resolve against.
if not __package__:
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from bench.process_sampling import descendants, read_status_kib
from bench.thumbnail_runners import HOST, free_port, stop_group
from bench.thumbnail_sources import WORK

HERE = WORK / "variant-memory"
OUTPUT = "big"


@dataclass
class Case:
    width: int  # 0: the stored width
    requests: int
    ok: int = 0
    busy_retries: int = 0
    failed: int = 0
    idle_kib: int = 0
    peak_kib: int = 0
    converter_peak_kib: int = 0
    seconds: float = 0.0


def make_source(width: int, height: int) -> Path:
    """A photo-like JPEG (smooth colour blobs and film grain), made once."""
    path = HERE / "input" / f"source-{width}x{height}.jpg"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    blobs = pyvips.Image.gaussnoise(width // 10, height // 10, sigma=60, mean=128)
    blobs = blobs.resize(10, kernel="cubic")
    colour = blobs.bandjoin([blobs.flip("horizontal"), blobs.flip("vertical")])
    grain = pyvips.Image.gaussnoise(colour.width, colour.height, sigma=8, mean=0)
    image = (colour + grain).cast("uchar").copy(interpretation="srgb")
    image.crop(0, 0, min(width, image.width), min(height, image.height)).jpegsave(str(path), Q=90)
    return path


def start(
    data: Path, workers: int, extra: dict[str, str]
) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    """``darkroom serve`` on ``data``, once /healthz counts ``workers`` alive."""
    port = free_port()
    env = dict(os.environ) | {
        "DARKROOM_DATA_DIR": str(data),
        "DARKROOM_INPUT_ROOT": str(HERE / "input"),
        "DARKROOM_LOG_LEVEL": "warning",
        **extra,
    }
    command = [sys.executable, "-m", "darkroom", "serve", "--host", HOST, "--port", str(port)]
    proc = subprocess.Popen([*command, "--workers", str(workers)], env=env, start_new_session=True)
    client = httpx.Client(base_url=f"http://{HOST}:{port}", timeout=600)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            health = client.get("/healthz", timeout=2)
            if health.status_code == 200 and health.json()["workers_alive"] >= workers:
                return proc, client
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_group(proc)
    raise SystemExit("darkroom serve did not become ready")


def make_output(data: Path, source: Path, stored: str, extra: dict[str, str]) -> str:
    proc, client = start(data, 1, extra)
    try:
        spec = {
            "source": {"path": source.name},
            "outputs": [{"name": OUTPUT, "op": "convert", "format": stored, "quality": 90}],
        }
        job = client.post("/v1/jobs", json=spec).raise_for_status().json()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            job = client.get(f"/v1/jobs/{job['id']}").json()
            if job["status"] in ("succeeded", "failed", "canceled"):
                break
            time.sleep(0.2)
        if job["status"] != "succeeded":
            raise SystemExit(f"the stored output was not made: {job['status']} {job['error']}")
        job_id: str = job["id"]
        return job_id
    finally:
        client.close()
        stop_group(proc)


def fetch(client: httpx.Client, job_id: str, width: int, quality: int, case: Case) -> None:
    params: dict[str, str | int] = {"format": "avif", "quality": quality}
    if width:
        params["width"] = width
    for _ in range(1000):
        response = client.get(f"/v1/jobs/{job_id}/outputs/{OUTPUT}", params=params)
        if response.status_code == 503:
            case.busy_retries += 1
            time.sleep(float(response.headers.get("retry-after", "1")))
            continue
        if response.status_code == 200 and response.content[4:12] == b"ftypavif":
            case.ok += 1
        else:
            case.failed += 1
            print(f"  {response.status_code}: {response.text[:200]}", flush=True)
        return
    case.failed += 1


def run_case(data: Path, job_id: str, case: Case, extra: dict[str, str]) -> None:
    shutil.rmtree(data / "blobs" / "jobs" / job_id / "variants", ignore_errors=True)
    proc, client = start(data, 0, extra)
    pid = proc.pid
    try:
        case.idle_kib = read_status_kib(pid, "VmHWM") or 0
        began = time.monotonic()
        with ThreadPoolExecutor(case.requests) as pool:
            for i in range(case.requests):
                pool.submit(fetch, client, job_id, case.width, 40 + i, case)
        case.seconds = time.monotonic() - began
        case.peak_kib = read_status_kib(pid, "VmHWM") or 0
        converters = [read_status_kib(c, "VmHWM") or 0 for c in descendants([pid])[1:]]
        case.converter_peak_kib = max(converters, default=0)
    finally:
        client.close()
        stop_group(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="4000x3000", help="the stored output, WxH")
    parser.add_argument("--stored", default="jpeg", help="its format: jpeg, png, webp, avif")
    parser.add_argument("--widths", default="2000,0", help="variant widths; 0: stored width")
    parser.add_argument("--requests", default="1,8", help="concurrent requests per case")
    parser.add_argument("--set", action="append", default=[], help="DARKROOM_K=V for serve")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    extra = dict(item.split("=", 1) for item in args.set)
    source = make_source(width, height)
    data = HERE / "data"
    shutil.rmtree(data, ignore_errors=True)
    job_id = make_output(data, source, args.stored, extra)
    shown = {k: v for k, v in os.environ.items() if k.startswith("DARKROOM_")} | extra
    print(f"stored output: {width}x{height} {args.stored}; settings: {shown or 'defaults'}")
    print(
        f"{'variant':>14} {'requests':>8} {'ok':>3} {'503s':>5} {'idle MiB':>9} "
        f"{'peak MiB':>9} {'converter':>9} {'seconds':>8}"
    )
    failed = 0
    for n in (int(x) for x in args.requests.split(",")):
        for w in (int(x) for x in args.widths.split(",")):
            case = Case(width=w, requests=n)
            run_case(data, job_id, case, extra)
            failed += case.failed
            label = f"avif w={w or width}"
            print(
                f"{label:>14} {n:>8} {case.ok:>3} {case.busy_retries:>5} "
                f"{case.idle_kib / 1024:>9.0f} {case.peak_kib / 1024:>9.0f} "
                f"{case.converter_peak_kib / 1024:>9.0f} {case.seconds:>8.1f}",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
