from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DarkroomProcess, LoopbackServer, darkroom_env, free_port


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[object]:
    started: list[DarkroomProcess] = []

    def start(
        workers: int = 1, data_dir: Path | None = None, wait_workers: int | None = None, **env: str
    ) -> DarkroomProcess:
        port = free_port()
        proc = DarkroomProcess(
            args=["serve", "--port", str(port), "--workers", str(workers)],
            env=darkroom_env(data_dir or tmp_path / "data", **env),
            log_path=tmp_path / f"serve-{port}.log",
            port=port,
        )
        started.append(proc)
        return proc.start(wait_workers=workers if wait_workers is None else wait_workers)

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def server(serve_factory: object) -> DarkroomProcess:
    proc: DarkroomProcess = serve_factory(workers=2)  # type: ignore[operator]
    return proc
