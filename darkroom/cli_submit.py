"""``darkroom submit``: upload many images, follow their jobs, download the results.

Results are named after their source: ``<stem>.<output>.<ext>``, in the same folder
below ``--out`` as the source below the folder named on the command line (files named
directly and URLs at the top). Two sources that would still share a name (``a/x.jpg``
and ``a/x.png``, or two URLs ending in ``x.jpg``) are told apart by the job's id:
``<stem>.<job id>.<output>.<ext>``; no result overwrites another."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import click
from rich.markup import escape
from rich.progress import Progress

from darkroom.cli_errors import describe
from darkroom.client import ApiError, Client, Job, Output, WaitTimeout

UPLOAD_THREADS = 4
IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".webp",
    ".gif",
    ".avif",
    ".heic",
    ".heif",
    ".tif",
    ".tiff",
    ".bmp",
    ".ico",
    ".svg",
}


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def _url_stem(url: str) -> str:
    return PurePosixPath(url.split("?", 1)[0].rstrip("/")).stem or "image"


def expand(targets: tuple[str, ...]) -> dict[str, PurePosixPath]:
    """Each image the targets name (files, the images in folders, URLs), with the name its
    results take: its folder below the named folder and its stem."""
    found: dict[str, PurePosixPath] = {}
    for target in targets:
        if _is_url(target):
            found[target] = PurePosixPath(_url_stem(target))
            continue
        path = Path(target)
        if path.is_dir():
            for image in sorted(path.rglob("*")):
                if image.is_file() and image.suffix.lower() in IMAGE_SUFFIXES:
                    found[str(image)] = PurePosixPath(image.relative_to(path).with_suffix(""))
        elif path.is_file():
            found[str(path)] = PurePosixPath(path.stem)
        else:
            raise click.UsageError(f"no such file, folder or URL: {target}")
    return found


def result_file(output: Output) -> str:
    """``<output name>.<ext>`` for an output's file."""
    ext = "jpg" if output.format == "jpeg" else output.format
    return f"{output.name}.{ext}"


def _submit_one(client: Client, item: str, options: dict[str, Any]) -> Job:
    source = item if _is_url(item) else Path(item)
    return client.submit(source, **options)


def submit_all(
    server: str,
    items: dict[str, PurePosixPath],
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
                except ApiError as exc:
                    failures += 1
                    progress.console.print(f"[red]✗[/red] {escape(item)}: {escape(describe(exc))}")
                except OSError as exc:
                    failures += 1
                    progress.console.print(f"[red]✗[/red] {escape(item)}: {escape(str(exc))}")
                progress.advance(task)
        if not wait:
            for item, job_id in jobs.items():
                progress.console.print(f"{job_id}  {item}")
            return failures
        failures += _wait_and_download(client, jobs, items, out_dir, timeout_s, progress)
    finally:
        client.close()
    return failures


def _wait_and_download(
    client: Client,
    jobs: dict[str, str],
    names: dict[str, PurePosixPath],
    out_dir: Path,
    timeout_s: float,
    progress: Progress,
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    task = progress.add_task("processing", total=len(jobs))
    failures = 0
    deadline = time.monotonic() + timeout_s
    written: set[Path] = set()
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
        name = names[item]
        targets = [out_dir / name.parent / f"{name.name}.{result_file(o)}" for o in job.outputs]
        if written.intersection(targets):
            targets = [
                out_dir / name.parent / f"{name.name}.{job.id}.{result_file(o)}"
                for o in job.outputs
            ]
        for output, target in zip(job.outputs, targets, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_to(output, target)
            written.add(target)
            progress.console.print(f"[green]✓[/green] {item} → {target}")
    return failures
