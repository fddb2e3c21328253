"""``darkroom submit``: upload many images, follow their jobs, download the results."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.progress import Progress

from darkroom.client import ApiError, Client, Job, WaitTimeout

UPLOAD_THREADS = 4


def _submit_one(client: Client, item: str, options: dict[str, Any]) -> Job:
    source = item if item.startswith(("http://", "https://")) else Path(item)
    return client.submit(source, **options)


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
    api_key: str | None = None,
) -> int:
    """Returns the number of items that failed."""
    client = Client(server, api_key=api_key, timeout=60.0)
    failures = 0
    jobs: dict[str, str] = {}
    try:
        task = progress.add_task("submitting", total=len(items))
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            futures = {item: pool.submit(_submit_one, client, item, options) for item in items}
            for item, future in futures.items():
                try:
                    jobs[item] = future.result().id
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
    client: Client,
    jobs: dict[str, str],
    out_dir: Path,
    timeout_s: float,
    progress: Progress,
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    task = progress.add_task("processing", total=len(jobs))
    failures = 0
    deadline = time.monotonic() + timeout_s
    for item, job_id in jobs.items():
        try:
            job = client.wait(job_id, timeout=max(0.0, deadline - time.monotonic()))
        except WaitTimeout:
            failures += 1
            progress.console.print(
                f"[yellow]…[/yellow] {item}: still running after {timeout_s:g} s"
            )
            continue
        progress.advance(task)
        if not job.succeeded:
            failures += 1
            code, message = (job.error.code, job.error.message) if job.error else ("", "")
            progress.console.print(f"[red]✗[/red] {item}: {job.status} {code} {message}")
            continue
        for output in job.outputs:
            ext = "jpg" if output.format == "jpeg" else output.format
            target = out_dir / f"{_stem(item)}.{output.name}.{ext}"
            client.download_to(output, target)
            progress.console.print(f"[green]✓[/green] {item} → {target}")
    return failures
