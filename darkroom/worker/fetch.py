"""Downloading a source URL within size, time and redirect limits, to allowed
destinations only (every hop checked by the outbound guard)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from darkroom.outbound import ForbiddenDestination, OutboundGuard, Unresolvable, deadline

REDIRECT_CODES = {301, 302, 303, 307, 308}


class FetchError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DownloadLimits:
    """A source download's limits: its body's size, its time in all, its redirects."""

    max_bytes: int
    timeout_s: float
    max_redirects: int


def download(client: httpx.Client, guard: OutboundGuard, url: str, limits: DownloadLimits) -> bytes:
    """GET ``url`` within ``limits``, refusing any hop whose host resolves to a forbidden
    address. ``limits.timeout_s`` is a deadline for the whole download: connecting, every
    redirect and the whole body (``client`` is an ``outbound_client()``, whose connections
    keep to it), not a limit on each read."""
    with deadline(limits.timeout_s) as deadline_at:
        for _hop in range(limits.max_redirects + 1):
            remaining = deadline_at - time.monotonic()
            if remaining <= 0:
                raise _timed_out(limits, "the time ran out between redirects")
            body, url = _get(client, guard, url, limits, remaining)
            if body is not None:
                return body
    raise FetchError("too_many_redirects", f"more than {limits.max_redirects} redirects")


def _get(
    client: httpx.Client, guard: OutboundGuard, url: str, limits: DownloadLimits, timeout: float
) -> tuple[bytes | None, str]:
    """One hop: the body, or None and the URL it redirects to."""
    try:
        destination = guard.check(url)
    except Unresolvable as exc:  # DNS may answer on a later attempt
        raise FetchError("download_failed", exc.message) from exc
    except ForbiddenDestination as exc:
        raise FetchError(exc.code, exc.message) from exc
    try:
        with client.stream(
            "GET",
            destination.url,
            headers=destination.headers,
            extensions=destination.extensions,
            timeout=timeout,
            follow_redirects=False,
        ) as resp:
            if resp.status_code in REDIRECT_CODES and "location" in resp.headers:
                return None, urljoin(url, resp.headers["location"])  # checked on the next hop
            _check_status(resp)
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise FetchError(
                    "download_too_large", f"source is larger than {limits.max_bytes} bytes"
                )
            return _read_limited(resp, limits), url
    except httpx.TimeoutException as exc:
        raise _timed_out(limits, str(exc)) from exc
    except httpx.HTTPError as exc:
        raise FetchError("download_failed", f"download failed: {exc}") from exc


def _timed_out(limits: DownloadLimits, detail: str) -> FetchError:
    return FetchError(
        "download_timeout", f"download took longer than {limits.timeout_s:g} s ({detail})"
    )


def _check_status(resp: httpx.Response) -> None:
    if resp.status_code >= 500 or resp.status_code == 429:
        raise FetchError("download_failed", f"source server answered {resp.status_code}")
    if resp.status_code >= 400:
        raise FetchError("download_rejected", f"source server answered {resp.status_code}")
    if resp.status_code != 200:
        raise FetchError("download_rejected", f"unexpected status {resp.status_code}")


def _read_limited(resp: httpx.Response, limits: DownloadLimits) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes(64 * 1024):
        size += len(chunk)
        if size > limits.max_bytes:
            raise FetchError(
                "download_too_large", f"source is larger than {limits.max_bytes} bytes"
            )
        chunks.append(chunk)
    if size == 0:
        raise FetchError("download_rejected", "source URL returned an empty body")
    return b"".join(chunks)
