"""The modes the bench times, each on one source kind: it returns a Result.

* ``run_raw``: the raw library loop, one spawned process per worker;
* ``run_darkroom``: ``darkroom serve`` started as a subprocess, jobs submitted over HTTP;
* ``run_thumbor``: thumbor processes (installed into their own virtualenv when missing)
  and a concurrent HTTP client.

Also starting and stopping the servers (free ports on 127.0.0.1, process groups) and the
check that an output is a WebP of the expected size.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pyvips

from bench.process_sampling import (
    CpuWindow,
    PeakSampler,
    ProcPeak,
    all_stat_fields,
    process_label,
    read_status_kib,
)
from bench.thumbnail_report import Result
from bench.thumbnail_sources import IMAGES, KINDS, WORK, Source, touch
from bench.workloads import QUALITY, THUMBNAIL, Output, Workload, check_output

HOST = "127.0.0.1"

OUTPUT_SPEC: dict[str, Any] = THUMBNAIL.outputs[0].darkroom_spec()  # the 500 px WebP


class BenchError(Exception):
    """A mode could not run; the message says why."""


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _group_members(pgid: int) -> list[int]:
    members = []
    for pid, fields in all_stat_fields():
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(pid)
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
        labels = ", ".join(f"{pid} ({process_label(pid)})" for pid in left)
        problems.append(f"still running 10 s after the server exited: {labels}")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for line in problems:
        print(f"  warning: {line}", flush=True)
    return problems


# --------------------------------------------------------------------------- raw loop


def _make_renderer(engine: str, workload: Workload) -> Callable[[bytes], list[bytes]]:
    """What the raw loop calls per source: every output of the workload."""
    if engine == "pyvips":
        return lambda data: [output.render_raw(data) for output in workload.outputs]
    if engine == "pillow":
        import io

        from PIL import Image

        def pillow_output(data: bytes, output: Output) -> bytes:
            with Image.open(io.BytesIO(data)) as img:
                img.thumbnail((output.box, output.box))  # uses draft(): DCT scaling on load
                buf = io.BytesIO()
                img.save(buf, output.format.upper(), quality=QUALITY)
            return buf.getvalue()

        return lambda data: [pillow_output(data, output) for output in workload.outputs]

    from darkroom.imaging import Limits, Operation, OutputFormat, RenderSpec, render

    specs = [
        RenderSpec(
            op=Operation.THUMBNAIL,
            width=output.box,
            height=output.box,
            format=OutputFormat(output.format),
            quality=QUALITY,
        )
        for output in workload.outputs
    ]
    limits = Limits()
    return lambda data: [rendered.data for rendered in render(data, specs, limits)]


def _raw_worker(
    engine: str,
    workload: Workload,
    vips_threads: int,
    warm: list[str],
    paths: list[str],
    barrier: Any,
    q: Any,
) -> None:
    try:
        if vips_threads:
            pyvips.concurrency_set(vips_threads)
        thumb = _make_renderer(engine, workload)
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
            outputs = thumb(Path(p).read_bytes())
            if not all(outputs):
                raise ValueError("an output is empty")
            done += 1
            written += sum(map(len, outputs))
        except Exception as exc:
            failed += 1
            error = error or f"{Path(p).name}: {type(exc).__name__}: {exc}"
    q.put((os.getpid(), done, read_status_kib("self", "VmHWM") or 0, error, failed, written))


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
                args.workload,
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
        touch(sources)
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
    """Empty string when data is the 500 px WebP thumbnail of the expected size."""
    return check_output(data, THUMBNAIL.outputs[0], expected)


def check_outputs(outputs: dict[str, bytes], workload: Workload, src: Source) -> str:
    """Empty when every output of ``workload`` is there and right for ``src``."""
    for output in workload.outputs:
        data = outputs.get(output.name)
        if data is None:
            return f"{output.name}: missing"
        problem = check_output(data, output, output.expected_size(src.width, src.height))
        if problem:
            return problem
    return ""


# --------------------------------------------------------------------------- darkroom


FINISHED = ("succeeded", "failed", "canceled")


class Darkroom:
    def __init__(self, client: httpx.Client, submit_mode: str, workload: Workload) -> None:
        self.client = client
        self.submit_mode = submit_mode
        self.outputs = [output.darkroom_spec() for output in workload.outputs]
        self.has_stats = True
        self.held: dict[str, bytes] = {}  # uploads: the sources' bytes, read before the window

    def hold(self, sources: list[Source]) -> None:
        """Read the sources to upload into memory, as an application holds the images it
        forwards; a path job's source is in the page cache (touch) when the window starts,
        and neither mode pays for reading its file inside the window."""
        self.held = {src.name: src.path.read_bytes() for src in sources}

    def submit(self, src: Source) -> str:
        if self.submit_mode == "path":
            r = self.client.post(
                "/v1/jobs", json={"source": {"path": src.name}, "outputs": self.outputs}
            )
        else:
            mime = f"image/{KINDS[src.kind].format}"
            r = self.client.post(
                "/v1/jobs",
                files={"file": (src.name, self.held.get(src.name) or src.path.read_bytes(), mime)},
                data={"spec": json.dumps({"outputs": self.outputs})},
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


def run_darkroom(
    kind: str, sources: list[Source], warm: list[Source], args: Any, mode: str = "darkroom"
) -> Result:
    """``mode`` darkroom-upload uploads every source whatever ``--submit`` says."""
    submit = "upload" if mode == "darkroom-upload" else args.submit
    workload: Workload = args.workload
    res = Result(mode, kind, images=len(sources), note=f"submit={submit}")
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
            dr = Darkroom(client, submit, workload)
            deadline = time.monotonic() + args.timeout
            warm_ids = [dr.submit(s) for s in warm]
            dr.wait(warm_ids, None, deadline, args.poll_interval, proc, args.workers)
            baseline = dr.finished_count()
            target = None if baseline is None else baseline + len(sources)
            if submit == "upload":
                dr.hold(sources)
            else:
                touch(sources)
            cpu = CpuWindow([proc.pid])
            cpu.start()
            t0 = time.monotonic()
            # Submitted as thumbor's requests are sent: 2 x workers at a time, through the
            # one pooled client (an upload's round trip must not leave workers idle).
            with ThreadPoolExecutor(max_workers=2 * args.workers) as submitters:
                ids = list(submitters.map(dr.submit, sources))
            dr.wait(ids, target, deadline, args.poll_interval, proc, args.workers)
            res.seconds = time.monotonic() - t0
            res.other_cores = cpu.others()
            res.service_cpu_s = cpu.service_s()
            res.client_cpu_s = cpu.client_s()
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
            checked = [(j, s) for j, s in zip(ids, sources, strict=True) if j not in bad]
            for job_id, src in checked[: max(1, args.samples)]:
                outputs = _darkroom_outputs(client, job_id, workload)
                res.samples[src.name] = outputs
                res.error = res.error or check_outputs(outputs, workload, src)
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


def _darkroom_outputs(client: httpx.Client, job_id: str, workload: Workload) -> dict[str, bytes]:
    outputs = {}
    for output in workload.outputs:
        r = client.get(f"/v1/jobs/{job_id}/outputs/{output.name}")
        if r.status_code != 200:
            raise BenchError(f"GET outputs/{output.name} -> {r.status_code}: {r.text[:200]}")
        outputs[output.name] = r.content
    return outputs


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
    """The 500 px WebP thumbnail's URL."""
    return THUMBNAIL.outputs[0].thumbor_path(src.name)


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
        outputs = args.workload.outputs

        def fetch(i: int, src: Source, output: Output) -> tuple[int, bytes | str]:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(timeout=120)
            url = f"http://{HOST}:{ports[i % len(ports)]}{output.thumbor_path(src.name)}"
            r = client.get(url)
            if r.status_code != 200:
                return i, f"{r.status_code} for {src.name}: {r.text[:200]}"
            return i, r.content

        # one request per output, every output of a source before the next source's
        requests = [(src, output) for src in sources for output in outputs]

        with (
            PeakSampler([p.pid for p in procs]) as sampler,
            ThreadPoolExecutor(max_workers=2 * len(ports)) as pool,
        ):
            for i, src in enumerate(warm * len(ports)):
                for output in outputs:
                    _, body = fetch(i, src, output)
                    if isinstance(body, str):
                        raise BenchError(f"thumbor warm-up: {body}")
            touch(sources)
            cpu = CpuWindow([p.pid for p in procs])
            cpu.start()
            t0 = time.monotonic()
            results = list(
                pool.map(
                    fetch,
                    range(len(requests)),
                    [src for src, _ in requests],
                    [output for _, output in requests],
                    timeout=args.timeout,
                )
            )
            res.seconds = time.monotonic() - t0
            res.other_cores = cpu.others()
            res.service_cpu_s = cpu.service_s()
            res.client_cpu_s = cpu.client_s()
        res.peaks = sampler.result()
        per_source: dict[str, dict[str, bytes]] = {}
        failed: set[str] = set()
        errors = []
        for (_, body), (src, output) in zip(results, requests, strict=True):
            if isinstance(body, str):
                errors.append(body)
                failed.add(src.name)
            else:
                per_source.setdefault(src.name, {})[output.name] = body
                res.output_bytes += len(body)
        res.failed = len(failed)
        if errors:
            res.note += f"; first failure: {errors[0]}"
        whole = [src for src in sources if src.name not in failed]
        for src in whole[: max(1, args.samples)]:
            res.samples[src.name] = per_source[src.name]
            res.error = res.error or check_outputs(per_source[src.name], args.workload, src)
    except (BenchError, httpx.HTTPError, TimeoutError) as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    finally:
        for proc in procs:
            stop_group(proc, grace=10)
    if res.error:
        res.note += "; logs: " + " ".join(str(p) for p in logs)
    return res
