"""The ``darkroom`` command."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from darkroom.cli_jobs import COMMANDS, server_options
from darkroom.cli_keys import keys
from darkroom.cli_settings import load_settings
from darkroom.config import Settings
from darkroom.logs import configure

if TYPE_CHECKING:
    from darkroom.dialects.registry import Enabled

F = TypeVar("F", bound=Callable[..., Any])
WORKERS_HELP = "Worker processes to run{beside} [DARKROOM_WORKERS, CPU count]."


def workers_options(beside: str) -> Callable[[F], F]:
    """--workers, and --concurrency/-c: its old name on `worker`, hidden, still taken."""

    def decorate(command: F) -> F:
        command = click.option("--concurrency", "-c", type=int, default=None, hidden=True)(command)
        return click.option(
            "--workers", type=int, default=None, help=WORKERS_HELP.format(beside=beside)
        )(command)

    return decorate


def pool_size(settings: Settings, workers: int | None, concurrency: int | None) -> int:
    if concurrency is not None:
        click.echo("darkroom: --concurrency is now --workers; the old name will go", err=True)
        if workers is None:
            workers = concurrency
    return settings.workers if workers is None else workers


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="darkroom")
def main() -> None:
    """darkroom: an asynchronous image-processing service.

    Start it with `darkroom serve` (API and workers on one machine, data in
    ./darkroom-data), send it images with `darkroom submit`, follow a job with
    `darkroom status`. Settings come from DARKROOM_* environment variables; see
    README.md for the full list.
    """


@main.command()
@click.option("--host", default=None, help="Interface to listen on [DARKROOM_HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [PORT or DARKROOM_PORT, 8000].")
@workers_options(" beside the API; 0 runs the API alone")
def serve(host: str | None, port: int | None, workers: int | None, concurrency: int | None) -> None:
    """Run the HTTP API and a pool of worker processes."""
    import uvicorn

    from darkroom.app import create_app
    from darkroom.jobs.presets import PresetError

    settings, dialects = _settings_and_dialects()
    # Links built without DARKROOM_PUBLIC_URL name the address actually served.
    settings = settings.model_copy(
        update={"host": host or settings.host, "port": settings.port if port is None else port}
    )
    try:
        settings.auth_mode()  # an exposed API must say whether it checks keys
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    configure(settings.log_format, settings.log_level)
    size = pool_size(settings, workers, concurrency)
    try:
        app = create_app(settings, pool_size=size, dialects=dialects)
    except PresetError as exc:
        raise click.UsageError(str(exc)) from exc
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.job_timeout_s),
    )
    uvicorn.Server(config).run()


@main.command()
@workers_options("")
def worker(workers: int | None, concurrency: int | None) -> None:
    """Run worker processes only (no API), against the configured database and storage.

    SIGTERM or Ctrl-C lets running jobs finish before exiting."""
    from darkroom.background import Background
    from darkroom.compose import build
    from darkroom.dialects.registry import (
        background_services,
        effect_handlers,
        schemas,
        webhook_bodies,
    )
    from darkroom.worker.pool import WorkerPool

    settings, dialects = _settings_and_dialects()
    configure(settings.log_format, settings.log_level)
    size = pool_size(settings, workers, concurrency)
    if size < 1:
        raise click.BadParameter("needs at least one worker", param_hint="--workers")
    pool: WorkerPool | None = None

    def wake_workers() -> None:
        if pool is not None:
            pool.wake()

    parts = build(settings, wake_workers=wake_workers, schemas=schemas(dialects))
    pool = WorkerPool(settings, parts.store, size)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    background = Background(
        parts,
        webhook_bodies(dialects),
        effect_handlers(dialects, parts.service),
        background_services(dialects, parts.service),
    )
    pool.start()
    background.start()
    click.echo(f"darkroom worker: {size} process(es); Ctrl-C to stop", err=True)
    stop.wait()
    click.echo("stopping: waiting for running jobs", err=True)
    pool.stop()
    background.stop()
    parts.close()


def _settings_and_dialects() -> tuple[Settings, list[Enabled]]:
    """Settings, and the drop-in dialects DARKROOM_DIALECTS names, whose systems'
    variables (PORT, WORKER_POOL_SIZE, …) fill settings left unset."""
    from darkroom.dialects.registry import DialectConfigError, enabled, with_seed_settings
    from darkroom.slices import check

    settings = load_settings()
    try:
        dialects = enabled(settings.dialects, os.environ)
        settings = with_seed_settings(settings, dialects)
        check(settings)
    except (DialectConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    return settings, dialects


@main.command()
@click.argument("targets", nargs=-1, required=True)
@server_options
@click.option(
    "--op",
    type=click.Choice(["thumbnail", "resize", "cover", "convert"]),
    default="thumbnail",
    show_default=True,
)
@click.option("--width", "-w", type=int)
@click.option("--height", "-H", type=int)
@click.option("--format", "-f", "fmt", type=click.Choice(["jpeg", "png", "webp", "avif", "gif"]))
@click.option("--quality", "-q", type=int)
@click.option(
    "--gravity",
    default="centre",
    show_default=True,
    help="For cover: centre, north, north_east, east, ... north_west.",
)
@click.option("--name", default="default", show_default=True, help="Output name.")
@click.option("--label", "labels", multiple=True, help="key=value; repeatable.")
@click.option("--spec", help="Full job options as JSON, or @file.json (overrides the above).")
@click.option("--wait/--no-wait", default=False, help="Wait for the jobs and download results.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("darkroom-results"),
    show_default=True,
    help="Folder for downloaded results (with --wait), named after their sources: "
    "<folder>/<stem>.<output>.<ext>.",
)
@click.option(
    "--timeout",
    type=float,
    default=600,
    show_default=True,
    help="Seconds to wait for all jobs (with --wait).",
)
def submit(
    targets: tuple[str, ...],
    server: str,
    api_key: str | None,
    op: str,
    width: int | None,
    height: int | None,
    fmt: str | None,
    quality: int | None,
    gravity: str,
    name: str,
    labels: tuple[str, ...],
    spec: str | None,
    wait: bool,
    out_dir: Path,
    timeout: float,
) -> None:
    """Submit images (files, folders of images, or http(s) URLs), one job each.

    \b
    Examples:
      darkroom submit photo.jpg -w 320 -f webp --wait
      darkroom submit ./photos --op cover -w 400 -H 400 --gravity north --wait
      darkroom submit https://example.com/a.png \\
          --spec '{"outputs": [{"op": "convert", "format": "avif"}]}'
    """
    from rich.progress import Progress

    from darkroom.cli_errors import api_failure
    from darkroom.cli_spec import job_options
    from darkroom.cli_submit import expand, submit_all
    from darkroom.client import ApiError

    options = job_options(op, width, height, fmt, quality, gravity, name, labels, spec)
    items = expand(targets)
    if not items:
        raise click.UsageError("no images found in the given paths")
    try:
        with Progress(transient=False) as progress:
            failures = submit_all(
                server,
                items,
                options,
                wait=wait,
                out_dir=out_dir,
                timeout_s=timeout,
                progress=progress,
                api_key=api_key,
            )
    except ApiError as exc:
        raise api_failure(exc) from None
    if failures:
        raise SystemExit(1)


for command in COMMANDS:
    main.add_command(command)
main.add_command(keys)

if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
