"""The commands that act on jobs already submitted: status, list, cancel, retry,
download."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from darkroom.cli_errors import api_failure
from darkroom.cli_spec import label_map
from darkroom.cli_submit import result_file
from darkroom.client import ApiError, Client, Job

FOLLOW_POLL_S = 0.5
STATUSES = ("queued", "processing", "succeeded", "failed", "canceled")
F = TypeVar("F", bound=Callable[..., Any])


def server_options(command: F) -> F:
    """--server and --api-key, as every command talking to the API takes them."""
    command = click.option(
        "--api-key",
        envvar="DARKROOM_API_KEY",
        help="An API key, for a server with DARKROOM_AUTH=keys [DARKROOM_API_KEY].",
    )(command)
    return click.option(
        "--server",
        envvar="DARKROOM_URL",
        default="http://127.0.0.1:8000",
        show_default=True,
        help="darkroom API base URL [DARKROOM_URL].",
    )(command)


@contextmanager
def api_client(server: str, api_key: str | None) -> Iterator[Client]:
    """A client whose API errors end the command as one clear message."""
    try:
        with Client(server, api_key=api_key) as client:
            yield client
    except ApiError as exc:
        raise api_failure(exc) from None


@click.command()
@click.argument("job_id")
@click.option("--follow", is_flag=True, help="Show progress until the job finishes.")
@server_options
def status(job_id: str, follow: bool, server: str, api_key: str | None) -> None:
    """Show a job as JSON; with --follow, its progress on stderr as it moves, then the
    finished job."""
    with api_client(server, api_key) as client:
        job = _follow(client, job_id) if follow else client.get(job_id)
    click.echo(json.dumps(job.raw, indent=2))
    if job.status == "failed":
        raise SystemExit(1)


def _follow(client: Client, job_id: str) -> Job:
    console = Console(stderr=True)
    job = client.get(job_id)
    if not console.is_terminal:
        return _follow_lines(client, job)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{job.id} {job.status}", total=100, completed=job.progress)
        while not job.finished:
            time.sleep(FOLLOW_POLL_S)
            job = client.get(job)
            bar.update(task, description=f"{job.id} {job.status}", completed=job.progress)
    return job


def _follow_lines(client: Client, job: Job) -> Job:
    """A line on stderr each time the job's status or progress changes."""
    shown: tuple[str, int] | None = None
    while True:
        if (job.status, job.progress) != shown:
            shown = (job.status, job.progress)
            click.echo(f"{job.id}: {job.status} {job.progress}%", err=True)
        if job.finished:
            return job
        time.sleep(FOLLOW_POLL_S)
        job = client.get(job)


@click.command("list")
@click.option("--status", "status_", type=click.Choice(STATUSES), help="Only jobs in this state.")
@click.option("--label", "labels", multiple=True, help="key=value; repeatable, all must match.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The jobs as JSON lines.")
@server_options
def list_jobs(
    status_: str | None,
    labels: tuple[str, ...],
    limit: int,
    as_json: bool,
    server: str,
    api_key: str | None,
) -> None:
    """List jobs, newest first, as a table."""
    wanted = label_map(labels)
    with api_client(server, api_key) as client:
        jobs = client.list_jobs(status=status_, labels=wanted or None, limit=limit).jobs
    if as_json:
        for job in jobs:
            click.echo(json.dumps(job.raw))
        return
    header = ("ID", "STATUS", "PROGRESS", "CREATED", "SOURCE", "LABELS")
    click.echo(_table([header, *(_row(job) for job in jobs)]))


def _row(job: Job) -> tuple[str, ...]:
    first = job.sources[0] if job.sources else None
    source = (first.filename or first.url or first.kind) if first else ""
    if len(job.sources) > 1:
        source += f" +{len(job.sources) - 1}"
    labels = ",".join(f"{key}={value}" for key, value in sorted(job.labels.items()))
    created = job.created_at.strftime("%Y-%m-%d %H:%M:%S")
    return (job.id, job.status, f"{job.progress}%", created, source, labels)


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@click.command()
@click.argument("job_id")
@server_options
def cancel(job_id: str, server: str, api_key: str | None) -> None:
    """Cancel a job that has not finished, and delete its sources and outputs."""
    with api_client(server, api_key) as client:
        job = client.cancel(job_id)
    click.echo(f"{job.id}: {job.status}")


@click.command()
@click.argument("job_id")
@server_options
def retry(job_id: str, server: str, api_key: str | None) -> None:
    """Queue a failed job again."""
    with api_client(server, api_key) as client:
        job = client.retry(job_id)
    click.echo(f"{job.id}: {job.status}")


@click.command()
@click.argument("job_id")
@click.argument("name", required=False)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write to.",
)
@server_options
def download(
    job_id: str, name: str | None, out_dir: Path, server: str, api_key: str | None
) -> None:
    """Download a finished job's outputs (or the one NAME) as <job id>.<output>.<ext>."""
    with api_client(server, api_key) as client:
        job = client.get(job_id)
        if not job.succeeded:
            raise click.ClickException(f"job {job.id} is {job.status}: it has no outputs")
        outputs = job.outputs
        if name is not None:
            outputs = [o for o in job.outputs if o.name == name]
            if not outputs:
                known = ", ".join(o.name for o in job.outputs)
                raise click.ClickException(
                    f"job {job.id} has no output named {name!r} (it has: {known})"
                )
        out_dir.mkdir(parents=True, exist_ok=True)
        for output in outputs:
            target = client.download_to(output, out_dir / f"{job.id}.{result_file(output)}")
            click.echo(str(target))


COMMANDS = (status, list_jobs, cancel, retry, download)
