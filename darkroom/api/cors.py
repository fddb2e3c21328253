"""CORS (DARKROOM_CORS_ORIGINS): browsers on the origins listed may call the API, the
dialects' routes and the event stream, and read the answers and the headers clients need.
Off unless set: a browser on another origin then cannot read any answer."""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

# What the routes take: the methods, and the request headers a browser asks leave for
# (an API key either way, JSON bodies, a reconnecting EventSource, revalidating outputs,
# thumbforge's byte ranges).
ALLOW_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
ALLOW_HEADERS = [
    "Authorization",
    "X-API-Key",
    "Content-Type",
    "Last-Event-ID",
    "If-None-Match",
    "If-Modified-Since",
    "Range",
    "If-Range",
    "Prefer",
]
# Response headers a script may read besides the safelisted ones (Content-Type,
# Cache-Control, Last-Modified, …): a submitted job's URL, an output's validator, how long
# to wait, an idempotent replay, why a key was refused, a range's extent.
EXPOSE_HEADERS = [
    "Location",
    "ETag",
    "Retry-After",
    "Idempotent-Replayed",
    "WWW-Authenticate",
    "Content-Disposition",
    "Content-Range",
    "Accept-Ranges",
    "Preference-Applied",
    "X-Request-ID",
]
MAX_AGE_S = 600  # how long a browser may reuse a preflight's answer

_ORIGIN = re.compile(r"https?://[^/\s?#]+", re.IGNORECASE)


def origins(setting: str) -> list[str]:
    """The origins a comma-separated DARKROOM_CORS_ORIGINS names (``*``: any); a trailing
    slash is dropped; anything else than scheme://host[:port] is a ValueError."""
    found: list[str] = []
    for entry in (part.strip().rstrip("/") for part in setting.split(",")):
        if not entry:
            continue
        if entry != "*" and not _ORIGIN.fullmatch(entry):
            raise ValueError(
                f"DARKROOM_CORS_ORIGINS: {entry!r} is not an origin: write "
                "scheme://host[:port], e.g. https://app.example.com, or * for any"
            )
        found.append(entry)
    return found


def install(app: FastAPI, allowed: list[str]) -> None:
    """Answer preflights and mark answers for ``allowed`` origins; nothing when empty.
    Install it last, outermost, so that every answer (errors, 413s) carries the headers."""
    if not allowed:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=allowed,
        allow_methods=ALLOW_METHODS,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        allow_credentials=False,  # keys travel in headers a script sets, not in cookies
        max_age=MAX_AGE_S,
    )
