"""Outputs converted on the fly are bounded (darkroom/api/variants.py): at most
DARKROOM_VARIANT_CONCURRENCY conversions at once per API process, a request waiting
DARKROOM_VARIANT_WAIT_S for one at most, then 503 ``busy``; the variants kept take at most
DARKROOM_VARIANT_CACHE_MAX_BYTES, the least recently used deleted first."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import pyvips
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from starlette.testclient import TestClient

from darkroom.api.variant_gate import ConversionGate
from darkroom.jobs.errors import ConverterLost
from tests.helpers import make_image, on_sqlite, wait_until
from tests.inprocess import InProcessDarkroom

# Eight AVIF variants of a 1600x1200 output asked for at once, with the default of one
# conversion at a time, measured on 2 cores (docs/performance.md): the API process's peak
# RSS grew by 1.2 MiB from its idle peak (163 MiB in all when the API converted on threads
# of its own), the converter process peaked at 97 MiB.
API_GROWTH_MIB = 16
CONVERTER_PEAK_MIB = 200


def _finished_output(api: Any, width: int, height: int, fmt: str) -> str:
    """The URL path of a finished job's output ``page``: the source as it came, in ``fmt``."""
    spec = {"outputs": [{"name": "page", "op": "convert", "format": fmt}]}
    job = api.wait_job(api.upload(make_image(width, height), spec).json()["id"])
    assert job["status"] == "succeeded", job
    return f"/v1/jobs/{job['id']}/outputs/page"


def _gate_and_portal(api: InProcessDarkroom) -> tuple[ConversionGate, BlockingPortal]:
    """The app's conversion gate, and the portal into the event loop it runs on."""
    client = cast(TestClient, api.client)
    assert client.portal is not None
    gate: ConversionGate = cast(FastAPI, client.app).state.variants.gate
    return gate, client.portal


def _wait_for(path: str) -> bool:
    """Run in a converter process: holds its slot until the file at ``path`` exists, and
    says which process it runs in (``path``.pid)."""
    Path(f"{path}.pid").write_text(str(os.getpid()))
    while not os.path.exists(path):
        time.sleep(0.01)
    return True


def _tick() -> None:
    """Let the clock move on: a file's times are only as fine as the kernel's tick."""
    time.sleep(0.02)


@on_sqlite  # the subject is the API process's own bounds, not the engines
def test_the_cache_keeps_the_most_recently_used_variants(api_factory: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    maker: InProcessDarkroom = api_factory(workers=1, data_dir=data)
    url = _finished_output(maker, 96, 64, "png")
    job_id = url.split("/")[3]
    # PNG ignores quality: every ?format=png&quality=N variant is these very bytes
    sample = maker.client.get(url, params={"format": "png", "quality": 1})
    assert sample.status_code == 200
    size = len(sample.content)
    maker.stop()
    blobs = maker.blobs()
    blobs.delete_prefix(f"jobs/{job_id}/variants/")
    stored = blobs.keys(f"jobs/{job_id}/outputs/") + blobs.keys(f"jobs/{job_id}/sources/")
    # room for three variants, not four; evicting one leaves them under 90 % of the cap
    api: InProcessDarkroom = api_factory(
        workers=0, data_dir=data, DARKROOM_VARIANT_CACHE_MAX_BYTES=str(int(size * 3.4))
    )

    def fetch(quality: int) -> None:
        answer = api.client.get(url, params={"format": "png", "quality": quality})
        assert answer.status_code == 200 and answer.content == sample.content
        _tick()

    def kept() -> list[str]:
        return [key.rsplit("/", 1)[-1] for key in blobs.keys(f"jobs/{job_id}/variants/")]

    for quality in (1, 2, 3):
        fetch(quality)
    assert kept() == ["w0-q1.png", "w0-q2.png", "w0-q3.png"]
    fetch(1)  # served from the cache: q1 is now the most recently used
    fetch(4)  # the fourth passes the cap: the least recently used goes, q2
    assert kept() == ["w0-q1.png", "w0-q3.png", "w0-q4.png"]
    fetch(2)  # made again, and kept; q3 is now the least recently used
    assert kept() == ["w0-q1.png", "w0-q2.png", "w0-q4.png"]
    # only variants are ever evicted
    assert blobs.keys(f"jobs/{job_id}/outputs/") + blobs.keys(f"jobs/{job_id}/sources/") == stored
    assert len(stored) == 2


@on_sqlite
def test_with_the_one_conversion_running_another_is_told_to_come_back(
    api_factory: Any, tmp_path: Path
) -> None:
    api: InProcessDarkroom = api_factory(
        workers=1, DARKROOM_VARIANT_CONCURRENCY="1", DARKROOM_VARIANT_WAIT_S="0"
    )
    url = _finished_output(api, 120, 80, "jpeg")
    gate, portal = _gate_and_portal(api)
    go = tmp_path / "go"
    # work that holds the process's one conversion slot until the test lets it go
    running = portal.start_task_soon(gate.run, partial(_wait_for, str(go)))
    wait_until(lambda: gate.running == 1, 10, 0.01)

    busy = api.client.get(url, params={"format": "webp", "width": 40})
    assert busy.status_code == 503
    assert busy.json()["error"]["code"] == "busy"
    assert busy.headers["retry-after"] == "1"

    go.touch()
    assert running.result(timeout=10) is True
    wait_until(lambda: gate.running == 0, 10, 0.01)
    served = api.client.get(url, params={"format": "webp", "width": 40})
    assert served.status_code == 200
    assert pyvips.Image.new_from_buffer(served.content, "").width == 40


@on_sqlite
def test_a_conversion_waits_for_the_one_running(api_factory: Any, tmp_path: Path) -> None:
    api: InProcessDarkroom = api_factory(
        workers=1, DARKROOM_VARIANT_CONCURRENCY="1", DARKROOM_VARIANT_WAIT_S="60"
    )
    url = _finished_output(api, 120, 80, "jpeg")
    gate, portal = _gate_and_portal(api)
    go = tmp_path / "go"
    running = portal.start_task_soon(gate.run, partial(_wait_for, str(go)))
    wait_until(lambda: gate.running == 1, 10, 0.01)

    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(api.client.get, url, params={"format": "avif", "width": 30})
        wait_until(lambda: gate.waiting == 1, 10, 0.01)  # queued behind it, not refused
        assert not waiting.done()
        go.touch()
        served = waiting.result(timeout=60)
    assert running.result(timeout=10) is True
    assert served.status_code == 200 and served.headers["content-type"] == "image/avif"
    assert pyvips.Image.new_from_buffer(served.content, "").width == 30
    assert gate.running == gate.waiting == 0


@on_sqlite
def test_a_converter_that_dies_fails_its_conversion_and_the_next_starts_anew(
    api_factory: Any, tmp_path: Path
) -> None:
    api: InProcessDarkroom = api_factory(workers=1)
    url = _finished_output(api, 120, 80, "jpeg")
    gate, portal = _gate_and_portal(api)
    go = tmp_path / "go"
    running = portal.start_task_soon(gate.run, partial(_wait_for, str(go)))
    pid = int(wait_until(lambda: _read(tmp_path / "go.pid"), 30, 0.01))
    assert pid != os.getpid()  # the conversion runs in a process of its own
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ConverterLost) as lost:
        running.result(timeout=30)
    assert lost.value.status_code == 503 and lost.value.code == "conversion_failed"
    assert lost.value.headers == {"Retry-After": "1"}

    served = api.client.get(url, params={"format": "webp", "width": 40})
    assert served.status_code == 200
    assert pyvips.Image.new_from_buffer(served.content, "").width == 40


def _read(path: Path) -> str | None:
    try:
        return path.read_text() or None
    except FileNotFoundError:
        return None


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for pid {pid}")


@on_sqlite
def test_eight_avif_variants_at_once_stay_within_the_memory_bound(
    api_factory: Any, serve_factory: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    maker: InProcessDarkroom = api_factory(workers=1, data_dir=data)
    url = _finished_output(maker, 1600, 1200, "jpeg")
    maker.stop()
    # the API alone, as deployed apart from workers; generous waits: the subject is memory
    server = serve_factory(workers=0, data_dir=data, DARKROOM_VARIANT_WAIT_S="300")
    idle = _peak_rss_mib(server.process.pid)

    def fetch(quality: int) -> httpx.Response:
        params = {"format": "avif", "quality": quality}  # each quality a variant of its own
        answer: httpx.Response = server.client.get(url, params=params, timeout=300)
        return answer

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(fetch, range(40, 48)))
    assert [a.status_code for a in answers] == [200] * 8
    assert all(a.headers["content-type"] == "image/avif" for a in answers)
    assert {pyvips.Image.new_from_buffer(a.content, "").width for a in answers} == {1600}
    growth = _peak_rss_mib(server.process.pid) - idle
    converters = [_peak_rss_mib(pid) for pid in server.child_pids()]
    assert growth < API_GROWTH_MIB, f"the API process grew by {growth:.0f} MiB"
    assert len(converters) == 2  # the one converter, and multiprocessing's resource tracker
    assert max(converters) < CONVERTER_PEAK_MIB, f"converters peaked at {converters} MiB"
