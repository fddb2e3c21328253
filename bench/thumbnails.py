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
import contextlib
import json
import multiprocessing as mp
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyvips

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / ".work"
IMAGES = WORK / "images"
HOST = "127.0.0.1"

BOX = 500
QUALITY = 80
OUTPUT_SPEC: dict[str, Any] = {
    "name": "thumb",
    "op": "thumbnail",
    "width": BOX,
    "height": BOX,
    "format": "webp",
    "quality": QUALITY,
}
RSS_TARGET_MIB = 150.0
WARMUP_IMAGES = 2
RECIPE = "v1"  # bump when the generator changes so cached files are regenerated

# Base sizes of the generated sources; each image shaves a few pixels off its class.
JPEG_CLASSES = [(6000, 4000), (6480, 4320), (7008, 4672), (7360, 4912)]  # 24, 28, 33, 36 MP
PNG_CLASS = (8000, 6000)  # 48 MP


class BenchError(Exception):
    """A mode could not run; the message says why."""


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    kind: str  # jpeg | png
    index: int  # >= 10_000 for warm-up images
    width: int
    height: int
    base: tuple[int, int]

    @property
    def name(self) -> str:
        prefix = "warm-" if self.index >= 10_000 else ""
        ext = "jpg" if self.kind == "jpeg" else "png"
        return f"{prefix}{self.kind}-{RECIPE}-{self.index:05d}-{self.width}x{self.height}.{ext}"

    @property
    def path(self) -> Path:
        return IMAGES / self.name

    @property
    def expected_thumb(self) -> tuple[int, int]:
        scale = min(BOX / self.width, BOX / self.height)
        return round(self.width * scale), round(self.height * scale)


def plan_sources(kind: str, count: int, warm: bool = False) -> list[Source]:
    out = []
    for n in range(count):
        i = n + 10_000 if warm else n
        if kind == "jpeg":
            base = JPEG_CLASSES[n % len(JPEG_CLASSES)]
            k = (i // len(JPEG_CLASSES)) % 16
        else:
            base = PNG_CLASS
            k = i % 16
        out.append(Source(kind, i, base[0] - 8 * k, base[1] - 8 * k, base))
    return out


def _scene(width: int, height: int, seed: int, grain: float) -> pyvips.Image:
    """Smooth colour blobs + a gradient + film grain: compresses like a photograph."""
    cw, ch = width // 48 + 2, height // 48 + 2
    bands = [
        pyvips.Image.gaussnoise(cw, ch, sigma=60, mean=128, seed=seed * 3 + b) for b in range(3)
    ]
    img = bands[0].bandjoin(bands[1:]).resize(48, kernel="cubic").crop(0, 0, width, height)
    xy = pyvips.Image.xyz(width, height)
    img = img + (xy[0] * (90 / width) + xy[1] * (50 / height) - 70)
    if grain:
        tile = pyvips.Image.gaussnoise(509, 509, sigma=grain, mean=0, seed=seed + 99_991)
        img = img + tile.replicate(width // 509 + 1, height // 509 + 1).crop(0, 0, width, height)
    return img.cast("uchar").copy_memory()


_scene_cache: dict[tuple[str, int, int], pyvips.Image] = {}


def _generate_one(src: Source) -> str:
    key = (src.kind, *src.base)
    if key not in _scene_cache:
        _scene_cache.clear()  # one scene in memory at a time (~150 MB for 48 MP)
        seed = sum(src.base) + (7 if src.kind == "png" else 0)
        grain = 5 if src.kind == "jpeg" else 0
        _scene_cache[key] = _scene(src.base[0] + 8, src.base[1] + 8, seed=seed, grain=grain)
    # Different crop, size and tint per image: every file is distinct, no cache can help.
    dx, dy = (src.index * 3) % 8, (src.index * 5) % 8
    tint = src.index % 11
    img = _scene_cache[key].crop(dx, dy, src.width, src.height)
    img = img.linear([1.0, 0.97 + 0.005 * tint, 1.0], [tint, 0, -tint]).cast("uchar")
    tmp = src.path.with_name(src.path.name + ".part" + src.path.suffix)
    if src.kind == "jpeg":
        img.jpegsave(str(tmp), Q=90)
    else:
        img.pngsave(str(tmp), filter="sub")
    tmp.replace(src.path)
    return src.name


def generate(sources: Sequence[Source], processes: int, regen: bool) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    todo = [s for s in sources if regen or not s.path.exists()]
    if not todo:
        return
    todo.sort(key=lambda s: (s.kind, s.base, s.index))
    print(f"generating {len(todo)} source images in {IMAGES} ...", flush=True)
    t0 = time.monotonic()
    with mp.get_context("spawn").Pool(processes) as pool:
        for n, _ in enumerate(pool.imap_unordered(_generate_one, todo), 1):
            if n % 10 == 0 or n == len(todo):
                print(f"  {n}/{len(todo)}", flush=True)
    print(f"generated in {time.monotonic() - t0:.1f} s", flush=True)


# --------------------------------------------------------------------------- processes


@dataclass
class ProcPeak:
    pid: int
    label: str
    peak_kib: int

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024


def _read_status_kib(pid: int | str, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _label(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    if not argv:
        return "?"
    argv[0] = os.path.basename(argv[0])
    if len(argv) > 1 and argv[0].startswith("python"):
        argv[1] = os.path.basename(argv[1]) if argv[1].startswith("/") else argv[1]
    text = " ".join(argv)
    return text if len(text) <= 70 else text[:67] + "..."


def descendants(roots: Iterable[int]) -> list[int]:
    """The roots and every process below them, found through the ppid in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    seen: list[int] = []
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.append(pid)
        stack.extend(children.get(pid, []))
    return seen


class PeakSampler:
    """Samples VmHWM of a process tree in a thread so short-lived children are counted."""

    def __init__(self, roots: Sequence[int], interval: float = 0.25) -> None:
        self.roots = list(roots)
        self.interval = interval
        self.peaks: dict[int, ProcPeak] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        for pid in descendants(self.roots):
            hwm = _read_status_kib(pid, "VmHWM")
            if hwm is None:
                continue
            known = self.peaks.get(pid)
            if known is None:
                self.peaks[pid] = ProcPeak(pid, _label(pid), hwm)
            elif hwm > known.peak_kib:
                known.peak_kib = hwm

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def result(self) -> list[ProcPeak]:
        return sorted(self.peaks.values(), key=lambda p: p.pid)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores, steal excluded)."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, _steal = vals
    return (user + nice + system + irq + softirq) / CLK_TCK


def _tree_cpu_s(roots: Iterable[int]) -> float:
    total = 0
    for pid in descendants(roots):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK


def _own_cpu_s() -> float:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class CpuWindow:
    """How busy the machine was with work other than ours during a measured window.

    Ours = this process, its reaped children and the live process trees under `roots`.
    Others = everything else (other users' tests, builds). On a shared 2-core machine
    this is what makes one run slower than the next; it is printed beside every figure.
    """

    def __init__(self, roots: Sequence[int]) -> None:
        self.roots = list(roots)
        self.t0 = self.busy0 = self.ours0 = self.service0 = 0.0

    def _ours(self) -> float:
        return _own_cpu_s() + _tree_cpu_s(self.roots)

    def start(self) -> None:
        self.t0, self.busy0, self.ours0 = time.monotonic(), _machine_busy_s(), self._ours()
        self.service0 = _tree_cpu_s(self.roots)

    def service_s(self) -> float:
        """CPU seconds the process trees under `roots` (the service measured) spent since
        start(): the cost of the work itself, steadier than wall time on a busy machine."""
        return _tree_cpu_s(self.roots) - self.service0

    def others(self) -> float:
        """Average number of cores busy with other work since start()."""
        wall = time.monotonic() - self.t0
        other = (_machine_busy_s() - self.busy0) - (self._ours() - self.ours0)
        return max(other, 0.0) / wall if wall > 0 else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def stop_group(proc: subprocess.Popen[bytes], grace: float = 30.0) -> list[str]:
    """SIGTERM the server we started and wait; then its own process group (it was started
    with start_new_session=True, so the group holds only what it started). Returns what
    went wrong, for the report."""
    problems = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            problems.append(f"pid {proc.pid} still running {grace:.0f} s after SIGTERM")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    left = _group_members(proc.pid)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _group_members(proc.pid)
    if left:
        labels = ", ".join(f"{pid} ({_label(pid)})" for pid in left)
        problems.append(f"still running 10 s after the server exited: {labels}")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for line in problems:
        print(f"  warning: {line}", flush=True)
    return problems


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    mode: str
    kind: str
    images: int = 0
    seconds: float = 0.0
    failed: int = 0
    peaks: list[ProcPeak] = field(default_factory=list)
    error: str = ""
    note: str = ""
    other_cores: float | None = None
    service_cpu_s: float | None = None
    output_bytes: int = 0  # all succeeded outputs together

    @property
    def kib_per_output(self) -> float | None:
        done = self.images - self.failed
        return self.output_bytes / 1024 / done if self.output_bytes and done > 0 else None

    @property
    def cpu_ms_per_image(self) -> float | None:
        done = self.images - self.failed
        if self.service_cpu_s is None or done <= 0:
            return None
        return 1000 * self.service_cpu_s / done

    @property
    def rate(self) -> float | None:
        if self.error or self.seconds <= 0 or self.images == 0:
            return None
        return (self.images - self.failed) / self.seconds

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["images_per_s"] = self.rate
        return d


# --------------------------------------------------------------------------- raw loop


def _make_renderer(engine: str) -> Callable[[bytes], bytes]:
    if engine == "pyvips":

        def thumb(data: bytes) -> bytes:
            img = pyvips.Image.thumbnail_buffer(data, BOX, height=BOX)
            out: bytes = img.webpsave_buffer(Q=QUALITY)
            return out

        return thumb
    if engine == "pillow":
        import io

        from PIL import Image

        def thumb_pil(data: bytes) -> bytes:
            with Image.open(io.BytesIO(data)) as img:
                img.thumbnail((BOX, BOX))  # uses draft(): JPEG DCT scaling on load
                buf = io.BytesIO()
                img.save(buf, "WEBP", quality=QUALITY)
            return buf.getvalue()

        return thumb_pil

    from darkroom.imaging import Limits, Operation, OutputFormat, RenderSpec, render

    spec = RenderSpec(
        op=Operation.THUMBNAIL, width=BOX, height=BOX, format=OutputFormat.WEBP, quality=QUALITY
    )
    limits = Limits()

    def thumb_dr(data: bytes) -> bytes:
        return render(data, [spec], limits)[0].data

    return thumb_dr


def _raw_worker(
    engine: str, vips_threads: int, warm: list[str], paths: list[str], barrier: Any, q: Any
) -> None:
    try:
        if vips_threads:
            pyvips.concurrency_set(vips_threads)
        thumb = _make_renderer(engine)
        for p in warm:
            thumb(Path(p).read_bytes())
    except BaseException as exc:
        barrier.abort()
        q.put((os.getpid(), 0, 0, f"{type(exc).__name__}: {exc}", 0, 0))
        return
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        return
    done = failed = written = 0
    error = ""
    for p in paths:
        try:
            out = thumb(Path(p).read_bytes())
            if not out.startswith(b"RIFF"):
                raise ValueError("output is not WebP")
            done += 1
            written += len(out)
        except Exception as exc:
            failed += 1
            error = error or f"{Path(p).name}: {type(exc).__name__}: {exc}"
    q.put((os.getpid(), done, _read_status_kib("self", "VmHWM") or 0, error, failed, written))


def run_raw(kind: str, sources: list[Source], warm: list[Source], args: Any) -> Result:
    workers, engine, timeout = args.workers, args.raw_engine, args.timeout
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers + 1)
    q = ctx.Queue()
    warm_paths = [str(s.path) for s in warm]
    procs = [
        ctx.Process(
            target=_raw_worker,
            args=(
                engine,
                args.vips_concurrency,
                warm_paths,
                [str(s.path) for s in sources[w::workers]],
                barrier,
                q,
            ),
        )
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    note = f"engine={engine}"
    if engine != "pillow":
        note += f", vips threads={args.vips_concurrency or 'default'}"
    res = Result("raw", kind, images=len(sources), note=note)
    try:
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            pid, _, _, error, *_ = q.get(timeout=10)
            raise BenchError(f"raw worker {pid} failed to start: {error}") from None
        cpu = CpuWindow([p.pid for p in procs if p.pid is not None])
        cpu.start()
        t0 = time.monotonic()
        for _ in procs:
            left = timeout - (time.monotonic() - t0)
            pid, _done, hwm, error, failed, written = q.get(timeout=max(left, 0.1))
            res.failed += failed
            res.output_bytes += written
            res.peaks.append(ProcPeak(pid, f"raw worker ({engine})", hwm))
            if error and "first failure" not in res.note:
                res.note += f"; first failure: {error}"
        res.seconds = time.monotonic() - t0
        for p in procs:  # reaped, so their CPU time shows in RUSAGE_CHILDREN
            p.join(timeout=10)
        res.other_cores = cpu.others()
    except BenchError as exc:
        res.error = str(exc)
    except Exception as exc:  # queue.Empty on timeout
        res.error = f"raw loop did not finish in {timeout:.0f} s ({type(exc).__name__})"
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join()
    return res


# --------------------------------------------------------------------------- checks


def check_webp(data: bytes, expected: tuple[int, int]) -> str:
    """Empty string when data decodes as a WebP of the expected size, else what is wrong."""
    try:
        img = pyvips.Image.new_from_buffer(data, "")
        loader = img.get("vips-loader")
    except pyvips.Error as exc:
        return f"output does not decode: {exc}"
    if not str(loader).startswith("webpload"):
        return f"output is not WebP ({loader})"
    got = (img.width, img.height)
    if max(got) != BOX or abs(got[0] - expected[0]) > 1 or abs(got[1] - expected[1]) > 1:
        return f"output is {got[0]}x{got[1]}, expected {expected[0]}x{expected[1]}"
    return ""


# --------------------------------------------------------------------------- darkroom


FINISHED = ("succeeded", "failed", "canceled")


class Darkroom:
    def __init__(self, client: httpx.Client, submit_mode: str) -> None:
        self.client = client
        self.submit_mode = submit_mode
        self.has_stats = True

    def submit(self, src: Source) -> str:
        if self.submit_mode == "path":
            r = self.client.post(
                "/v1/jobs", json={"source": {"path": src.name}, "outputs": [OUTPUT_SPEC]}
            )
        else:
            mime = "image/jpeg" if src.kind == "jpeg" else "image/png"
            r = self.client.post(
                "/v1/jobs",
                files={"file": (src.name, src.path.read_bytes(), mime)},
                data={"spec": json.dumps({"outputs": [OUTPUT_SPEC]})},
            )
        if r.status_code != 202:
            raise BenchError(f"POST /v1/jobs -> {r.status_code}: {r.text[:300]}")
        job_id = r.json().get("id")
        if not job_id:
            raise BenchError(f"POST /v1/jobs answered no id: {r.text[:300]}")
        return str(job_id)

    def finished_count(self) -> int | None:
        """Jobs in a final state according to /v1/stats, None when it is not served."""
        if not self.has_stats:
            return None
        r = self.client.get("/v1/stats")
        jobs = r.json().get("jobs") if r.status_code == 200 else None
        if not isinstance(jobs, dict):
            self.has_stats = False
            return None
        return sum(int(jobs.get(s, 0)) for s in FINISHED)

    def job(self, job_id: str) -> dict[str, Any]:
        r = self.client.get(f"/v1/jobs/{job_id}")
        if r.status_code != 200:
            raise BenchError(f"GET /v1/jobs/{job_id} -> {r.status_code}: {r.text[:300]}")
        body: dict[str, Any] = r.json()
        return body

    def wait(
        self,
        ids: list[str],
        target: int | None,
        deadline: float,
        poll: float,
        server: subprocess.Popen[bytes],
        workers: int,
    ) -> None:
        """Until `target` jobs are final per /v1/stats, or else every id is final.

        Once no more jobs are left than there are workers, it looks ten times as often, so
        that the clock stops within a few ms of the last job, as thumbor's stops at its last
        response, without the API answering ten polls a second for the whole run."""
        pending = list(ids)
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise BenchError(f"darkroom exited with code {server.returncode} mid-run")
            left = len(pending)
            if target is not None:
                count = self.finished_count()
                if count is not None and count >= target:
                    return
                left = target - count if count is not None else left
            if target is None or not self.has_stats:
                pending = [j for j in pending if self.job(j).get("status") not in FINISHED]
                if not pending:
                    return
                left = len(pending)
            time.sleep(poll / 10 if left <= workers else poll)
        raise BenchError(f"jobs not finished before the deadline ({len(ids)} submitted)")


def _wait_ready(
    client: httpx.Client, proc: subprocess.Popen[bytes], workers: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"darkroom serve exited with code {proc.returncode} at start-up")
        try:
            r = client.get("/healthz", timeout=2)
            last = f"{r.status_code} {r.text[:200]}"
            if r.status_code == 200:
                alive = r.json().get("workers_alive")
                if isinstance(alive, int) and alive >= workers:
                    return
        except (httpx.TransportError, ValueError) as exc:
            last = f"{type(exc).__name__}"
        time.sleep(0.2)
    raise BenchError(f"darkroom not ready in {timeout:.0f} s (last /healthz: {last})")


def run_darkroom(kind: str, sources: list[Source], warm: list[Source], args: Any) -> Result:
    res = Result("darkroom", kind, images=len(sources), note=f"submit={args.submit}")
    exe = Path(args.darkroom_bin)
    if not exe.exists():
        res.error = f"{exe} not found"
        return res
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix=f"darkroom-{kind}-", dir=WORK))
    log_path = data_dir.with_suffix(".log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_")} | {
        "DARKROOM_DATA_DIR": str(data_dir),
        "DARKROOM_INPUT_ROOT": str(IMAGES),
        "DARKROOM_LOG_LEVEL": "warning",
    }
    cmd = [str(exe), "serve", "--host", HOST, "--port", str(port), "--workers", str(args.workers)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        with (
            httpx.Client(base_url=f"http://{HOST}:{port}", timeout=60) as client,
            PeakSampler([proc.pid]) as sampler,
        ):
            _wait_ready(client, proc, args.workers, args.startup_timeout)
            dr = Darkroom(client, args.submit)
            deadline = time.monotonic() + args.timeout
            warm_ids = [dr.submit(s) for s in warm]
            dr.wait(warm_ids, None, deadline, args.poll_interval, proc, args.workers)
            baseline = dr.finished_count()
            target = None if baseline is None else baseline + len(sources)
            cpu = CpuWindow([proc.pid])
            cpu.start()
            t0 = time.monotonic()
            ids = [dr.submit(s) for s in sources]
            dr.wait(ids, target, deadline, args.poll_interval, proc, args.workers)
            res.seconds = time.monotonic() - t0
            res.other_cores = cpu.others()
            res.service_cpu_s = cpu.service_s()
            if target is None:
                res.note += "; /v1/stats absent, polled each job"
            statuses = {j: dr.job(j) for j in ids}
            bad = {j: b for j, b in statuses.items() if b.get("status") != "succeeded"}
            res.failed = len(bad)
            res.output_bytes = sum(
                out.get("bytes", 0)
                for body in statuses.values()
                if body.get("status") == "succeeded"
                for out in body.get("outputs", [])
            )
            if bad:
                j, body = next(iter(bad.items()))
                res.note += f"; first failure {j}: {json.dumps(body)[:300]}"
            ok = [j for j in ids if j not in bad]
            if ok:
                r = client.get(f"/v1/jobs/{ok[0]}/outputs/thumb")
                problem = (
                    check_webp(r.content, sources[ids.index(ok[0])].expected_thumb)
                    if r.status_code == 200
                    else f"GET outputs/thumb -> {r.status_code}: {r.text[:200]}"
                )
                if problem:
                    res.error = problem
        res.peaks = sampler.result()
    except (BenchError, httpx.HTTPError) as exc:
        res.error = f"{type(exc).__name__}: {exc}" if isinstance(exc, httpx.HTTPError) else str(exc)
        res.peaks = []
    finally:
        for problem in stop_group(proc):
            res.note += f"; shutdown: {problem}"
        if not args.keep:
            _rmtree(data_dir)
            if not res.error:
                log_path.unlink(missing_ok=True)
    if res.error:
        tail = _tail(log_path)
        if tail:
            res.note += f"; server log {log_path}: ...{tail}"
    return res


def _tail(path: Path, chars: int = 600) -> str:
    try:
        return path.read_text(errors="replace")[-chars:].replace("\n", " | ")
    except OSError:
        return ""


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- thumbor


THUMBOR_CONF = """\
# written by bench/thumbnails.py
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = {root!r}
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ENGINE = 'thumbor.engines.pil'
ALLOW_UNSAFE_URL = True
QUALITY = {q}
WEBP_QUALITY = {q}
AUTO_WEBP = False
MAX_PIXELS = 75e6
"""


def ensure_thumbor(venv: Path, spec: str) -> Path:
    exe = venv / "bin" / "thumbor"
    if exe.exists():
        return exe
    print(f"creating {venv} and installing {spec!r} (once) ...", flush=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            spec,
        ],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise BenchError(
                f"{' '.join(cmd)} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}"
            )
    if not exe.exists():
        raise BenchError(f"pip installed {spec!r} but {exe} is missing")
    return exe


def thumbor_version(venv: Path) -> str:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import thumbor; print(thumbor.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip() or "?"


def thumbor_url(src: Source) -> str:
    return f"/unsafe/fit-in/{BOX}x{BOX}/filters:format(webp):quality({QUALITY})/{src.name}"


def run_thumbor(kind: str, sources: list[Source], warm: list[Source], args: Any) -> Result:
    res = Result("thumbor", kind, images=len(sources))
    venv = Path(args.thumbor_venv)
    try:
        exe = ensure_thumbor(venv, args.thumbor_spec)
    except (BenchError, subprocess.TimeoutExpired) as exc:
        res.error = str(exc)
        return res
    res.note = f"thumbor {thumbor_version(venv)}, Pillow engine, {args.workers} processes"
    conf = WORK / "thumbor.conf"
    conf.write_text(THUMBOR_CONF.format(root=str(IMAGES), q=QUALITY))
    ports = [free_port() for _ in range(args.workers)]
    procs: list[subprocess.Popen[bytes]] = []
    logs = [WORK / f"thumbor-{i}.log" for i in range(len(ports))]
    try:
        for port, log_path in zip(ports, logs, strict=True):
            with open(log_path, "wb") as log:
                cmd = [str(exe), "-p", str(port), "-i", HOST, "-c", str(conf), "-l", "warning"]
                procs.append(
                    subprocess.Popen(
                        cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        deadline = time.monotonic() + args.startup_timeout
        with httpx.Client(timeout=5) as probe:
            for port, proc in zip(ports, procs, strict=True):
                while True:
                    if proc.poll() is not None:
                        raise BenchError(f"thumbor on port {port} exited ({proc.returncode})")
                    if time.monotonic() > deadline:
                        raise BenchError(f"thumbor on port {port} not ready in time")
                    try:
                        if probe.get(f"http://{HOST}:{port}/healthcheck").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.2)

        local = threading.local()

        def fetch(i: int, src: Source) -> tuple[int, bytes | str]:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(timeout=120)
            url = f"http://{HOST}:{ports[i % len(ports)]}{thumbor_url(src)}"
            r = client.get(url)
            if r.status_code != 200:
                return i, f"{r.status_code} for {src.name}: {r.text[:200]}"
            return i, r.content

        with (
            PeakSampler([p.pid for p in procs]) as sampler,
            ThreadPoolExecutor(max_workers=2 * len(ports)) as pool,
        ):
            for i, src in enumerate(warm * len(ports)):
                _, body = fetch(i, src)
                if isinstance(body, str):
                    raise BenchError(f"thumbor warm-up: {body}")
            cpu = CpuWindow([p.pid for p in procs])
            cpu.start()
            t0 = time.monotonic()
            results = list(pool.map(fetch, range(len(sources)), sources, timeout=args.timeout))
            res.seconds = time.monotonic() - t0
            res.other_cores = cpu.others()
            res.service_cpu_s = cpu.service_s()
        res.peaks = sampler.result()
        errors = [b for _, b in results if isinstance(b, str)]
        res.failed = len(errors)
        res.output_bytes = sum(len(b) for _, b in results if isinstance(b, bytes))
        if errors:
            res.note += f"; first failure: {errors[0]}"
        first_ok = next((i for i, b in results if isinstance(b, bytes)), None)
        if first_ok is not None:
            body = results[first_ok][1]
            assert isinstance(body, bytes)
            res.error = check_webp(body, sources[first_ok].expected_thumb)
    except (BenchError, httpx.HTTPError, TimeoutError) as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    finally:
        for proc in procs:
            stop_group(proc, grace=10)
    if res.error:
        res.note += "; logs: " + " ".join(str(p) for p in logs)
    return res


# --------------------------------------------------------------------------- report


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def report(results: list[Result], workers: int) -> list[str]:
    rates = {(r.mode, r.kind): r.rate for r in results}
    lines = [
        f"{'mode':<9} {'source':<6} {'images':>6} {'failed':>6} {'seconds':>8} {'images/s':>9} "
        f"{'vs raw':>7} {'vs thumbor':>10} {'max peak RSS':>13} {'others':>6} {'cpu ms/img':>10}"
        f" {'KiB/output':>10}"
    ]
    for r in results:
        raw = rates.get(("raw", r.kind))
        thumbor = rates.get(("thumbor", r.kind))
        vs_raw = r.rate / raw if r.rate and raw and r.mode != "raw" else None
        vs_th = r.rate / thumbor if r.rate and thumbor and r.mode != "thumbor" else None
        peak = max((p.peak_mib for p in r.peaks), default=None)
        lines.append(
            f"{r.mode:<9} {r.kind:<6} {r.images:>6} {r.failed:>6} "
            f"{_fmt(r.seconds if r.rate else None, '.2f'):>8} {_fmt(r.rate, '.2f'):>9} "
            f"{_fmt(vs_raw, '.2f'):>7} {_fmt(vs_th, '.2f'):>10} "
            f"{_fmt(peak, '.0f') + ' MiB' if peak else '-':>13} {_fmt(r.other_cores, '.2f'):>6} "
            f"{_fmt(r.cpu_ms_per_image, '.1f'):>10} {_fmt(r.kib_per_output, '.1f'):>10}"
        )
    lines.append(
        f"(processes per mode: {workers}; images/s = images / wall seconds; others = cores"
        " busy with other programs during the timed window, averaged; cpu ms/img = CPU time"
        " of the server processes (darkroom: API and workers; thumbor: its processes) per"
        " image, not counting the bench's own client; KiB/output = mean size of the WebP"
        " thumbnails made)"
    )
    for r in results:
        if r.error or r.note:
            text = "; ".join(x for x in (f"ERROR {r.error}" if r.error else "", r.note) if x)
            lines.append(f"{r.mode}/{r.kind}: {text}")
    for r in results:
        if r.mode == "raw" or not r.peaks:
            continue
        lines.append(f"peak RSS (VmHWM) of every {r.mode} process, {r.kind} run:")
        for p in r.peaks:
            flag = "  > 150 MiB" if r.mode == "darkroom" and p.peak_mib > RSS_TARGET_MIB else ""
            lines.append(f"  pid {p.pid:>7} {p.peak_mib:8.1f} MiB  {p.label}{flag}")
    lines += _targets(results, rates)
    return lines


def _targets(results: list[Result], rates: dict[tuple[str, str], float | None]) -> list[str]:
    out = []
    dr, raw, th = (rates.get((m, "jpeg")) for m in ("darkroom", "raw", "thumbor"))
    if dr and raw:
        ok = "met" if dr / raw >= 0.9 else "NOT met"
        out.append(f"target darkroom >= 0.9 x raw (jpeg): {dr / raw:.2f} {ok}")
    if dr and th:
        ok = "met" if dr / th >= 1.0 else "NOT met"
        out.append(f"target darkroom >= 1.0 x thumbor (jpeg): {dr / th:.2f} {ok}")
    one = rates.get(("darkroom-1", "jpeg"))
    if dr and one:
        ok = "met" if dr / one >= 1.8 else "NOT met"
        out.append(f"target darkroom, --workers N >= 1.8 x 1 worker (jpeg): {dr / one:.2f} {ok}")
    png = next((r for r in results if r.mode == "darkroom" and r.kind == "png" and r.peaks), None)
    if png:
        peak = max(p.peak_mib for p in png.peaks)
        ok = "met" if peak <= RSS_TARGET_MIB else "NOT met"
        out.append(f"target every darkroom process <= 150 MiB (png run): {peak:.0f} MiB {ok}")
    return ["targets:", *("  " + line for line in out)] if out else []


# --------------------------------------------------------------------------- main


def best_of(runs: list[Result]) -> Result:
    """The fastest run; peak RSS from the run with the highest peak (worst case)."""
    ok = [r for r in runs if r.rate]
    if not ok:
        return runs[0]
    best = max(ok, key=lambda r: r.rate or 0.0)
    if len(runs) > 1:
        worst = max(ok, key=lambda r: max((p.peak_kib for p in r.peaks), default=0))
        best.peaks = worst.peaks
        rates = ", ".join(
            f"{r.rate:.2f} ({r.other_cores or 0:.2f})" if r.rate else "failed" for r in runs
        )
        best.note += f"; best of {len(runs)} runs, images/s (others): {rates}"
    return best


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


def paired_ratios(kind: str, runs: dict[str, list[Result]]) -> list[str]:
    """darkroom's rate over each baseline's, run by run: modes of one repetition ran back to
    back, so each pair saw about the same machine, which best-of figures do not promise."""
    lines = []
    for base in ("raw", "thumbor", "darkroom-1"):
        pairs = zip(runs.get("darkroom", []), runs.get(base, []), strict=False)
        ratios = [d.rate / b.rate for d, b in pairs if d.rate and b.rate]
        if len(ratios) > 1:
            listed = ", ".join(f"{r:.2f}" for r in ratios)
            lines.append(
                f"darkroom / {base} ({kind}) run by run: {listed}; "
                f"median {statistics.median(ratios):.2f}"
            )
    return lines


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
