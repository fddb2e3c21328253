"""``darkroom submit``'s job options: from --spec (JSON, or @file.json) or its flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

SPEC_HINT = "--spec"


def read_spec(spec: str) -> dict[str, Any]:
    """The job options --spec gives; a file that cannot be read or text that is not a JSON
    object is a click.BadParameter saying which."""
    if spec.startswith("@"):
        path = Path(spec[1:])
        try:
            text = path.read_text()
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {path}: {exc.strerror or exc}", param_hint=SPEC_HINT
            ) from None
    else:
        text = spec
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=SPEC_HINT) from None
    if not isinstance(parsed, dict):
        raise click.BadParameter(
            f'expected a JSON object ({{"outputs": [...], ...}}), got {type(parsed).__name__}',
            param_hint=SPEC_HINT,
        )
    given = sorted({"source", "sources"} & set(parsed))
    if given:
        raise click.UsageError(
            f"--spec gives the job's outputs and options; its {given[0]!r} is not "
            "taken: name the images as arguments"
        )
    return parsed


def job_options(
    op: str,
    width: int | None,
    height: int | None,
    fmt: str | None,
    quality: int | None,
    gravity: str,
    name: str,
    labels: tuple[str, ...],
    spec: str | None,
) -> dict[str, Any]:
    if spec:
        return read_spec(spec)
    output: dict[str, Any] = {"name": name, "op": op, "gravity": gravity}
    for key, value in (("width", width), ("height", height), ("format", fmt), ("quality", quality)):
        if value is not None:
            output[key] = value
    if op == "thumbnail" and width is None and height is None:
        output.update(width=512, height=512)
    return {"outputs": [output], "labels": label_map(labels)}


def label_map(labels: tuple[str, ...]) -> dict[str, str]:
    """key=value pairs; one without '=' is a click.BadParameter."""
    bad = [item for item in labels if "=" not in item]
    if bad:
        raise click.BadParameter(f"expected key=value, got {bad[0]!r}", param_hint="--label")
    return dict(item.split("=", 1) for item in labels)
