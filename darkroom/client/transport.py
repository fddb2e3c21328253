"""What every request of a client shares: its base URL, key and HTTP settings."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx

from darkroom import __version__

USER_AGENT = f"darkroom-client/{__version__}"
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_S = 30.0
JSON = {"Accept": "application/json"}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class BearerKey(httpx.Auth):
    """``Authorization: Bearer KEY`` on requests to the API's own origin only: an output's
    URL may point elsewhere (DARKROOM_PUBLIC_URL, a CDN), where the key has no business."""

    def __init__(self, key: str, base_url: str) -> None:
        self._header = f"Bearer {key}"
        self._origin = _origin(httpx.URL(base_url))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin(request.url) == self._origin:
            request.headers["Authorization"] = self._header
        yield request


def client_options(base_url: str, api_key: str | None, timeout_s: float) -> dict[str, Any]:
    """The httpx settings Client and AsyncClient share; each keeps one connection pool."""
    return {
        "base_url": base_url.rstrip("/"),
        "timeout": timeout_s,
        "auth": BearerKey(api_key, base_url) if api_key else None,
        "headers": {"User-Agent": USER_AGENT},
        "follow_redirects": True,  # an output kept in object storage answers 307 to it
    }


def held_timeout(timeout_s: float, held_s: float) -> httpx.Timeout:
    """A request's timeouts when the API may hold its answer ``held_s`` seconds."""
    return httpx.Timeout(timeout_s, read=timeout_s + held_s)
