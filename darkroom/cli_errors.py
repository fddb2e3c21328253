"""The API's error answers as the commands show them: the message, then each field the
API found at fault and why (its 422 ``details``)."""

from __future__ import annotations

from typing import Any

import click

from darkroom.client import ApiError


def field_problems(details: Any) -> list[str]:
    """``field: why`` for each entry of an error's details that names a field."""
    if not isinstance(details, list):
        return []
    lines = []
    for entry in details:
        if isinstance(entry, dict) and "msg" in entry:
            loc = [str(part) for part in entry.get("loc") or [] if part != "body"]
            lines.append(f"{'.'.join(loc) or 'the body'}: {entry['msg']}")
    return lines


def describe(exc: ApiError) -> str:
    problems = field_problems(exc.details)
    return "\n".join([str(exc), *(f"  {line}" for line in problems)])


def api_failure(exc: ApiError) -> click.ClickException:
    return click.ClickException(describe(exc))
