"""The API process's CPU time while many Server-Sent Events streams are open.

Starts `darkroom serve --workers 0` (SQLite in a temporary folder, so submitted jobs stay
queued), submits one job per stream, opens ``--streams`` streams of
GET /v1/jobs/{id}/events from this process (one pooled httpx client, one connection per
stream), waits for each stream's first event and ``--warmup`` seconds, then reads the API
process's CPU time (/proc/PID/stat) over ``--seconds``. Nothing changes meanwhile: what
is measured is what open streams cost while they wait.

With ``--baseline REF`` the same run is made first with the darkroom of git ref REF
(`git archive REF` unpacked into a temporary folder and run from there), and the ratio
of the two CPU times is printed: how many times cheaper this tree's streams are.

    .venv/bin/python bench/event_streams.py --baseline 1d52ffd   # before the shared reader
    .venv/bin/python bench/event_streams.py --streams 300 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyvips

# As bench/thumbnails.py: run as a script, the repository root is not on sys.path.
if not __package__:
    sys.path.append(str(Path(__file__).resolve().parents[1]))

from bench.process_sampling import CpuWindow

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


@dataclass
class Run:
    label: str
    streams: int
    seconds: float
    cpu_s: float
    others: float
    events: int  # events and keep-alives the streams got in the measured window

    @property
    def cores(self) -> float:
        return self.cpu_s / self.seconds

    def row(self) -> str:
        per_stream_ms = 1000 * self.cpu_s / self.seconds / self.streams
        return (
            f"| {self.label} | {self.streams} | {self.seconds:.0f} | {self.cpu_s:.2f} "
            f"| {self.cores:.3f} | {per_stream_ms:.3f} | {self.events} | {self.others:.2f} |"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def unpack(ref: str, into: Path) -> Path:
    """The tree of git ref ``ref`` of this repository, unpacked under ``into``."""
    archive = into / "tree.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], stdout=out, check=True)
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def start_server(source: Path, data_dir: Path, port: int, poll_s: float) -> subprocess.Popen[bytes]:
    """`darkroom serve` with the darkroom package of ``source`` (first on the path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_")} | {
        "DARKROOM_DATA_DIR": str(data_dir),
        "DARKROOM_LOG_LEVEL": "warning",
        "DARKROOM_EVENTS_POLL_S": str(poll_s),
        "PYTHONPATH": str(source),
    }
    cmd = [sys.executable, "-m", "darkroom", "serve", "--host", HOST, "--port", str(port)]
    log = open(data_dir / "serve.log", "wb")  # noqa: SIM115 - the server keeps it open
    return subprocess.Popen(
        [*cmd, "--workers", "0"],
        cwd=source,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"darkroom serve exited with code {proc.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if client.get("/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"darkroom not ready in {timeout_s:.0f} s")


class Streams:
    """``len(urls)`` event streams held open on one asyncio client."""

    def __init__(self, base_url: str, urls: list[str]) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(10, read=None),
            limits=httpx.Limits(max_connections=len(urls) + 10, max_keepalive_connections=0),
        )
        self.urls = urls
        self.opened = 0
        self.received = 0  # lines that end an event or a keep-alive, all streams together
        self.ended = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def _hold(self, url: str) -> None:
        async with self.client.stream("GET", url) as response:
            response.raise_for_status()
            first = True
            async for line in response.aiter_lines():
                if line.startswith(("data: ", ": keep-alive")):
                    self.received += 1
                    if first:
                        self.opened += 1
                        first = False
        self.ended += 1

    async def open(self, timeout_s: float) -> None:
        self._tasks = [asyncio.create_task(self._hold(url)) for url in self.urls]
        deadline = time.monotonic() + timeout_s
        while self.opened < len(self.urls):
            failed = [t for t in self._tasks if t.done() and t.exception()]
            if failed:
                raise RuntimeError(f"a stream failed: {failed[0].exception()!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {self.opened} of {len(self.urls)} streams opened")
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()


def submit_jobs(client: httpx.Client, count: int) -> list[str]:
    image = base64.b64encode(pyvips.Image.black(16, 16).pngsave_buffer()).decode()
    body = {
        "sources": [{"base64": image}],
        "outputs": [{"name": "t", "op": "thumbnail", "width": 8}],
    }
    ids = []
    for _ in range(count):
        answer = client.post("/v1/jobs", json=body)
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    return ids


def measure(label: str, source: Path, args: argparse.Namespace) -> Run:
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory(prefix="darkroom-events-") as data:
        proc = start_server(source, Path(data), port, args.poll_s)
        try:
            with httpx.Client(base_url=base_url, timeout=30) as client:
                wait_ready(client, proc, 60)
                ids = submit_jobs(client, args.streams)
            return asyncio.run(_measure(label, base_url, ids, proc.pid, args))
        finally:
            stop_server(proc)


async def _measure(
    label: str, base_url: str, ids: list[str], pid: int, args: argparse.Namespace
) -> Run:
    streams = Streams(base_url, [f"/v1/jobs/{job_id}/events" for job_id in ids])
    try:
        await streams.open(timeout_s=120)
        await asyncio.sleep(args.warmup)
        before = streams.received
        window = CpuWindow([pid])
        window.start()
        started = time.monotonic()
        await asyncio.sleep(args.seconds)
        cpu_s, others = window.service_s(), window.others()
        seconds = time.monotonic() - started
        if streams.ended:
            raise RuntimeError(f"{streams.ended} streams ended early")
        return Run(label, len(ids), seconds, cpu_s, others, streams.received - before)
    finally:
        await streams.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=300, help="open streams (300)")
    parser.add_argument("--seconds", type=float, default=20, help="measured window (20)")
    parser.add_argument("--warmup", type=float, default=3, help="wait before measuring (3)")
    parser.add_argument("--poll-s", type=float, default=0.25, help="DARKROOM_EVENTS_POLL_S")
    parser.add_argument("--baseline", metavar="REF", help="also measure git ref REF, first")
    args = parser.parse_args()

    runs = []
    with tempfile.TemporaryDirectory(prefix="darkroom-baseline-") as scratch:
        if args.baseline:
            runs.append(measure(args.baseline, unpack(args.baseline, Path(scratch)), args))
            print(f"measured {args.baseline}", flush=True)
        runs.append(measure("this tree", ROOT, args))
    print(
        f"\n{args.streams} open event streams on queued jobs, DARKROOM_EVENTS_POLL_S="
        f"{args.poll_s}, API process CPU over {args.seconds:.0f} s\n"
    )
    print("| darkroom | streams | s | API CPU s | cores | CPU ms/s per stream | events | others |")
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        print(run.row())
    if len(runs) == 2 and runs[1].cpu_s > 0:
        print(f"\n{runs[0].label} / this tree, API CPU: {runs[0].cpu_s / runs[1].cpu_s:.1f} x")


if __name__ == "__main__":
    main()
