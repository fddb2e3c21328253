"""``darkroom submit``: upload many images, follow their jobs, download the results."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.progress import Progress

from darkroom.client import TERMINAL, ApiError, DarkroomClient

UPLOAD_THREADS = 4


def _submit_one(client: DarkroomClient, item: str, options: dict[str, Any]) -> dict[str, Any]:
    if item.startswith(("http://", "https://")):
        return client.submit_url(item, options)
    return client.submit_file(Path(item), options)


def _stem(item: str) -> str:
    return Path(item.split("?", 1)[0].rstrip("/")).stem or "image"


def submit_all(
    server: str,
    items: list[str],
    options: dict[str, Any],
    *,
    wait: bool,
    out_dir: Path,
    timeout_s: float,
    progress: Progress,
) -> int:
    """Returns the number of items that failed."""
    client = DarkroomClient(server)
    failures = 0
    jobs: dict[str, str] = {}
    try:
        task = progress.add_task("submitting", total=len(items))
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            futures = {item: pool.submit(_submit_one, client, item, options) for item in items}
            for item, future in futures.items():
                try:
                    jobs[item] = future.result()["id"]
                except (ApiError, OSError) as exc:
                    failures += 1
                    progress.console.print(f"[red]✗[/red] {item}: {exc}")
                progress.advance(task)
        if not wait:
            for item, job_id in jobs.items():
                progress.console.print(f"{job_id}  {item}")
            return failures
        failures += _wait_and_download(client, jobs, out_dir, timeout_s, progress)
    finally:
        client.close()
    return failures


def _wait_and_download(
    client: DarkroomClient,
    jobs: dict[str, str],
    out_dir: Path,
    timeout_s: float,
    progress: Progress,
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    task = progress.add_task("processing", total=len(jobs))
    pending = dict(jobs)
    failures = 0
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for item, job_id in list(pending.items()):
            job = client.job(job_id)
            if job["status"] not in TERMINAL:
                continue
            del pending[item]
            progress.advance(task)
            if job["status"] != "succeeded":
                failures += 1
                err = job.get("error") or {}
                progress.console.print(
                    f"[red]✗[/red] {item}: {job['status']} {err.get('code', '')} "
                    f"{err.get('message', '')}"
                )
                continue
            for output in job["outputs"]:
                ext = "jpg" if output["format"] == "jpeg" else output["format"]
                target = out_dir / f"{_stem(item)}.{output['name']}.{ext}"
                target.write_bytes(client.download(output["url"]))
                progress.console.print(f"[green]✓[/green] {item} → {target}")
        if pending:
            time.sleep(0.3)
    for item in pending:
        failures += 1
        progress.console.print(f"[yellow]…[/yellow] {item}: still running after {timeout_s:g} s")
    return failures
