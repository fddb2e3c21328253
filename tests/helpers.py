"""Test helpers: images made in code, a darkroom server process, a loopback HTTP server."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvips

from darkroom.blobs import BlobStore, S3BlobStore, open_blobs
from darkroom.jobs.model import Job
from darkroom.jobs.status import JobStatus

REPO = Path(__file__).resolve().parent.parent

# For tests whose subject does not depend on the engines behind the API (validation,
# images, the outbound guard): one backend, the embedded default.
on_sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def make_image(width: int, height: int, fmt: str = "jpeg", **save: Any) -> bytes:
    """A photo-like test image: a colour gradient with some noise."""
    x = pyvips.Image.xyz(width, height)
    red = (x[0] * (255 / max(1, width - 1))).cast("uchar")
    green = (x[1] * (255 / max(1, height - 1))).cast("uchar")
    blue = pyvips.Image.gaussnoise(width, height, mean=128, sigma=30).cast("uchar")
    image = red.bandjoin([green, blue]).copy(interpretation="srgb")
    suffix = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "gif": ".gif", "avif": ".avif"}
    data: bytes = image.write_to_buffer(suffix[fmt], **save)
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def new_job(job_id: str, created: float | None = None, **extra: Any) -> Job:
    """A queued job with no sources or outputs, as the store takes it."""
    at = time.time() if created is None else created
    return Job(
        id=job_id,
        status=JobStatus.QUEUED,
        created_at=at,
        updated_at=at,
        available_at=at,
        spec={"outputs": []},
        sources=[],
        **extra,
    )


def wait_until(predicate: Callable[[], Any], timeout_s: float, interval_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"condition not met within {timeout_s} s")


def blobs_of(env: dict[str, str]) -> BlobStore:
    """The blob store that a darkroom started with ``env`` uses."""
    url = env.get("DARKROOM_STORAGE_URL") or str(Path(env["DARKROOM_DATA_DIR"]) / "blobs")
    if not url.startswith("s3://"):
        return open_blobs(url)
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    store = S3BlobStore.from_url(url)
    return S3BlobStore(store.bucket, store.prefix, client=client)


class ApiCalls:
    """Calls to darkroom's API through ``client``, shared by a server process and the
    in-process application (tests/inprocess.py)."""

    client: httpx.Client

    def log(self) -> str:
        return ""

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.client.post("/v1/jobs", json=body)
        assert resp.status_code == 202, resp.text
        result: dict[str, Any] = resp.json()
        return result

    def upload(
        self, data: bytes, spec: dict[str, Any] | None = None, filename: str = "image.jpg"
    ) -> httpx.Response:
        files = {"file": (filename, data, "application/octet-stream")}
        form = {"spec": json.dumps(spec)} if spec is not None else None
        return self.client.post("/v1/jobs", files=files, data=form)

    def job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.client.get(f"/v1/jobs/{job_id}").json()
        return result

    def wait_job(self, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["status"] in {"succeeded", "failed", "canceled"} else None

        try:
            result: dict[str, Any] = wait_until(finished, timeout_s, 0.1)
        except TimeoutError:
            raise AssertionError(
                f"job {job_id} unfinished: {self.job(job_id)}\n{self.log()[-4000:]}"
            ) from None
        return result


@dataclass
class DarkroomProcess(ApiCalls):
    """A `darkroom serve` or `darkroom worker` process with its own environment."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    client: httpx.Client = field(init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def blobs(self) -> BlobStore:
        """The blob store this process writes to (its folder, or its bucket over HTTP)."""
        return blobs_of(self.env)

    def start(self, wait_workers: int = 0) -> DarkroomProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "darkroom", *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
        self.client = httpx.Client(base_url=self.url, timeout=30) if self.port else None  # type: ignore[assignment]
        if self.port:
            wait_until(self._ready, 30)
            if wait_workers:
                wait_until(
                    lambda: self.client.get("/v1/stats").json()["workers_alive"] >= wait_workers,
                    30,
                )
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"darkroom exited early:\n{self.log()}")
        try:
            return self.client.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill_group(self) -> None:
        """SIGKILL the process and every worker process it started."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout_s: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if self.port:
            self.client.close()
        return self.process.returncode

    def child_pids(self) -> list[int]:
        assert self.process is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(p) for p in out.split()]


def answer(status: int) -> Route:
    """A route that answers ``status`` with an empty body."""

    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def darkroom_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_")}
    env.update(
        DARKROOM_DATA_DIR=str(data_dir),
        DARKROOM_LOG_LEVEL="info",
        DARKROOM_LEASE_S="3",
        DARKROOM_POLL_INTERVAL_S="0.2",
        DARKROOM_RETRY_BACKOFF_S="0.2",
        DARKROOM_OUTBOUND_ALLOW="127.0.0.0/8,::1",  # the tests' own servers
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


Route = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class Received:
    """A request a LoopbackServer was sent."""

    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackServer:
    """An HTTP server on 127.0.0.1 whose routes are functions set by the test. POSTs are
    recorded in ``received`` and answered 204 unless a route says otherwise."""

    def __init__(self, port: int = 0) -> None:
        routes: dict[str, Route] = {}
        self.routes = routes
        self.hits: dict[str, int] = {}
        self.received: list[Received] = []
        hits, received = self.hits, self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                hits[path] = hits.get(path, 0) + 1
                route = routes.get(path)
                if route is None:
                    self.send_error(404)
                else:
                    route(self)

            def do_POST(self) -> None:
                path = self.path.split("?", 1)[0]
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.append(
                    Received(path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                route = routes.get(path)
                if route is None:
                    self.send_response(204)
                    self.end_headers()
                else:
                    route(self)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve_bytes(self, path: str, data: bytes, content_type: str = "image/jpeg") -> str:
        def route(handler: http.server.BaseHTTPRequestHandler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)

        self.routes[path] = route
        return self.url(path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The `darkroom` command with ``args``, run in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "darkroom", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
