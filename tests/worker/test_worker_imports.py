"""What a worker process loads: its memory is the budget of every render (48 MP PNGs
within 150 MiB, docs/performance.md), so modules it never uses stay out of it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from darkroom.compose import build_worker
from darkroom.config import Settings

LOADED = "import sys, {module}; print(','.join(m for m in sys.modules if m.startswith({prefixes})))"


def loaded(module: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of ``prefixes`` that importing ``module`` loads, in a
    fresh interpreter."""
    code = LOADED.format(module=module, prefixes=prefixes)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [name for name in out.stdout.strip().split(",") if name]


def test_a_worker_process_does_not_load_alembic_or_the_web_framework() -> None:
    # Alembic is 11 MiB of RSS; its supervisor migrated the database before starting it.
    assert loaded("darkroom.worker.process", ("alembic", "fastapi", "uvicorn")) == []


def test_a_worker_built_without_migrating_finds_the_schema_its_supervisor_made(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None, storage_url=None)
    build_worker(settings, "first").engine.dispose()  # migrates, as a supervisor does
    parts = build_worker(settings, "second", migrate=False)
    try:
        assert parts.store.stats(worker_window_s=10).queue_depth == 0
    finally:
        parts.engine.dispose()
