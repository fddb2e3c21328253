"""The `Prefer` request header (RFC 7240): the one preference the API honours, `wait`."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_WAIT_S = 60.0  # longer waits are cut to this

# one preference of a comma-separated list; a quoted value may hold commas
_PREFERENCE = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+')
_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def preferred_wait(header_values: Iterable[str]) -> float | None:
    """The seconds of the first `wait` preference of these `Prefer` headers, at most
    MAX_WAIT_S; None when there is none, or it is not a number above 0 (a preference the
    server does not understand is ignored)."""
    for value in header_values:
        for match in _PREFERENCE.finditer(value):
            name, _, argument = match.group().split(";", 1)[0].partition("=")
            if name.strip().lower() != "wait":
                continue
            seconds = argument.strip().strip('"')
            if not _SECONDS.fullmatch(seconds) or float(seconds) <= 0:
                return None
            return min(float(seconds), MAX_WAIT_S)
    return None


def wait_applied(seconds: float) -> str:
    """The `Preference-Applied` value for a wait honoured: ``wait=30``."""
    return f"wait={seconds:g}"
