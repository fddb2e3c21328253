"""The requests Client and AsyncClient send, described before they are sent: each client
builds a Call here and only does the sending and reading itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx

from darkroom.client.errors import error_of
from darkroom.client.models import Job, Output, OutputFormat
from darkroom.client.requests import prefer_wait, wait_param
from darkroom.client.transport import JSON, held_timeout
from darkroom.signing.variants import ParamValue, query_value, sign_variant_url

# Prefer: wait honoured (RFC 7240): the answer says so.
PREFERENCE_APPLIED = "preference-applied"

Params = Mapping[str, str | int] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Call:
    """One request: ``timeout`` None leaves the client's own; ``body`` holds httpx's
    ``json``, or multipart ``files`` and ``data``."""

    method: str
    url: str
    headers: Mapping[str, str] | None = field(default_factory=lambda: JSON)
    params: Params | None = None
    timeout: float | httpx.Timeout | None = None
    body: Mapping[str, Any] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        """httpx's arguments for the request besides its method and URL."""
        options: dict[str, Any] = {"headers": self.headers, "params": self.params, **self.body}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        return options


def job_id(job: Job | str) -> str:
    return job.id if isinstance(job, Job) else job


def job_path(job: Job | str, *rest: str) -> str:
    return "/".join(["/v1/jobs", quote(job_id(job), safe=""), *rest])


def job_call(method: str, job: Job | str, *rest: str) -> Call:
    return Call(method, job_path(job, *rest))


def submit_call(body: Mapping[str, Any], wait: float | None, timeout_s: float) -> Call:
    """POST /v1/jobs with ``body``; with ``wait``, asking the API to hold its answer."""
    if not wait:
        return Call("POST", "/v1/jobs", timeout=timeout_s, body=body)
    headers = {**JSON, "Prefer": prefer_wait(wait)}
    timeout = held_timeout(timeout_s, wait_param(wait))
    return Call("POST", "/v1/jobs", headers, timeout=timeout, body=body)


def get_call(job: Job | str, wait: float | None, timeout_s: float) -> Call:
    """GET the job; with ``wait``, asking the API to hold its answer until the job ends."""
    if not wait:
        return job_call("GET", job)
    held = wait_param(wait)
    return Call("GET", job_path(job), params={"wait": held}, timeout=held_timeout(timeout_s, held))


def list_call(
    status: str | None,
    labels: Mapping[str, str] | None,
    created_after: datetime | str | None,
    created_before: datetime | str | None,
    limit: int | None,
    cursor: str | None,
) -> Call:
    """GET /v1/jobs with the filters given, labels as repeated ``label=key:value``."""
    params: list[tuple[str, str]] = []
    for name, value in (
        ("status", status),
        ("created_after", created_after),
        ("created_before", created_before),
        ("limit", limit),
        ("cursor", cursor),
    ):
        if value is not None:
            params.append((name, value.isoformat() if isinstance(value, datetime) else str(value)))
    params += [("label", f"{key}:{value}") for key, value in (labels or {}).items()]
    return Call("GET", "/v1/jobs", params=params)


# An output to fetch: an Output, one of its stored formats, or a URL.
OutputRef = Output | OutputFormat | str


def output_url(output: OutputRef) -> str:
    return output if isinstance(output, str) else output.url


def variant_url(
    output: OutputRef, variant: Mapping[str, ParamValue], signing_key: str | bytes | None
) -> str:
    """The output's URL asking for ``variant`` (none: the output as stored), signed when
    a key is given (DARKROOM_URL_SIGNING_KEY)."""
    url = output_url(output)
    if not variant:
        return url
    if signing_key is not None:
        return sign_variant_url(url, variant, signing_key)
    parts = urlsplit(url)
    pairs = [(n, v) for n, v in parse_qsl(parts.query, keep_blank_values=True) if n not in variant]
    pairs += [(name, query_value(value)) for name, value in variant.items()]
    return urlunsplit(parts._replace(query=urlencode(pairs)))


def download_call(url: str, accept: str | None) -> Call:
    """GET an output's (or a variant's) bytes; ``accept`` picks among its formats."""
    return Call("GET", url, headers={"Accept": accept} if accept else None)


def checked(resp: httpx.Response) -> httpx.Response:
    """The answer; raises ApiError for an error answer (its body already read)."""
    if resp.status_code >= 400:
        raise error_of(resp)
    return resp


def json_of(resp: httpx.Response) -> Any:
    """The answer's JSON; raises ApiError for an error answer."""
    return checked(resp).json()
