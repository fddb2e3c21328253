"""darkroom's application in the test process: ``create_app`` driven through Starlette's
ASGI test client (no socket, no server process), with its jobs run by worker loops on
threads here. For tests of what the API answers; tests of processes (workers killed,
restarts, scale-out, signals, logs) start `darkroom serve` (helpers.DarkroomProcess)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

from starlette.testclient import TestClient

from darkroom.app import create_app
from darkroom.blobs import BlobStore
from darkroom.config import Settings
from darkroom.dialects.registry import enabled, with_seed_settings
from darkroom.worker.process import WorkerSignals, run_worker
from tests.helpers import ApiCalls, blobs_of


class InProcessDarkroom(ApiCalls):
    """What DarkroomProcess offers for API calls, in this process; ``workers`` worker
    loops on threads take the jobs. Until stopped, os.environ is ``env`` (the whole of it),
    as a started darkroom would see it: clients made later (S3's) read it too."""

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        self.env = env
        self._environment = mock.patch.dict(os.environ, env, clear=True)
        self._environment.start()
        try:
            settings = Settings()
            dialects = enabled(settings.dialects, env)
            self.settings = with_seed_settings(settings, dialects)
            self.client = TestClient(
                create_app(self.settings, dialects=dialects, consumers=workers > 0),
                base_url=self.settings.link_base(),  # what links name, as served
                raise_server_exceptions=False,
            )
            self.client.__enter__()  # the lifespan: stores migrated, background loops started
        except BaseException:
            self._environment.stop()
            raise
        self._signals = WorkerSignals()
        self._threads = [
            threading.Thread(
                target=run_worker,
                args=(self.settings, f"thread-{i}", self._signals),
                name=f"darkroom-worker-{i}",
                daemon=True,
            )
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def url(self) -> str:
        return str(self.client.base_url)

    def blobs(self) -> BlobStore:
        return blobs_of(self.env)

    def stop(self) -> None:
        if self._signals.stop_requested:
            return
        self._signals.stop_requested = True
        for thread in self._threads:
            thread.join(timeout=30)
        self.client.__exit__(None, None, None)
        self._environment.stop()


def in_process_factory(tmp_path: Path, backend: dict[str, str]) -> Iterator[object]:
    """The ``api_factory`` fixture's body (conftest.py)."""
    from tests.helpers import darkroom_env

    started: list[InProcessDarkroom] = []

    def start(workers: int = 1, data_dir: Path | None = None, **env: str) -> InProcessDarkroom:
        api = InProcessDarkroom(
            darkroom_env(data_dir or tmp_path / "data", **{**backend, **env}), workers
        )
        started.append(api)
        return api

    yield start
    for api in reversed(started):  # each puts back the environment it found
        api.stop()
