"""``darkroom keys``: the API keys of DARKROOM_AUTH=keys, kept in the configured database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click

from darkroom.cli_settings import load_settings
from darkroom.store import open_engine
from darkroom.store.api_keys import ApiKeyStore, KeyNameTaken, Limits, UnknownKey


@contextmanager
def _store() -> Iterator[ApiKeyStore]:
    """The key store of the database DARKROOM_DATABASE_URL names, migrated as any
    darkroom process migrates it."""
    engine = open_engine(load_settings().resolved_database_url())
    try:
        yield ApiKeyStore(engine)
    finally:
        engine.dispose()


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _limit(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@click.group()
def keys() -> None:
    """API keys for DARKROOM_AUTH=keys (docs/security.md), in the configured database."""


@keys.command()
@click.argument("name")
@click.option("--admin", is_flag=True, help="The key sees every job and may call /v1/admin/*.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True, max=1e6),
    help="Requests a second the key may send, on average (429 rate_limited past it).",
)
@click.option(
    "--burst",
    type=click.IntRange(min=1, max=1_000_000),
    help="With --rate: requests the key may send at once. Default: the rate rounded up.",
)
@click.option(
    "--max-queued",
    type=click.IntRange(min=1),
    help="Jobs of the key waiting in the queue at most (429 quota_exceeded past it).",
)
def create(
    name: str, admin: bool, rate: float | None, burst: int | None, max_queued: int | None
) -> None:
    """Make a key named NAME and print it. It is shown this once: only a hash is kept."""
    if not name.strip() or len(name) > 100:
        raise click.BadParameter("a name of 1 to 100 characters", param_hint="NAME")
    if burst is not None and rate is None:
        raise click.BadParameter("needs --rate", param_hint="--burst")
    limits = Limits(rate_per_s=rate, burst=burst, max_queued=max_queued)
    with _store() as store:
        try:
            record, key = store.create(name, admin=admin, limits=limits)
        except KeyNameTaken as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(key)
    kind = "admin key" if record.admin else "key"
    click.echo(f"{kind} {record.name!r} made; it is not shown again", err=True)


@keys.command(name="list")
def list_keys() -> None:
    """Every key: name, its first characters, admin, created and revoked (UTC), rate
    (requests a second), burst and max queued jobs ("-": no limit)."""
    with _store() as store:
        found = store.list()
    header = ("NAME", "PREFIX", "ADMIN", "CREATED", "REVOKED", "RATE", "BURST", "MAX-QUEUED")
    rows = [header] + [
        (
            k.name,
            k.prefix,
            "yes" if k.admin else "no",
            _when(k.created_at),
            _when(k.revoked_at),
            _limit(k.rate_per_s),
            _limit(k.burst),
            _limit(k.max_queued),
        )
        for k in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


@keys.command()
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke the key named NAME: from now on every API process refuses it (401)."""
    with _store() as store:
        try:
            record = store.revoke(name)
        except UnknownKey as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"key {record.name!r} revoked at {_when(record.revoked_at)}", err=True)
