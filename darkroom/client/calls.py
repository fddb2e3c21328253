"""The parts of requests that Client and AsyncClient build alike."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx

from darkroom.client.errors import error_of
from darkroom.client.models import Job, Output, OutputFormat
from darkroom.signing.variants import ParamValue, query_value, sign_variant_url

# Prefer: wait honoured (RFC 7240): the answer says so.
PREFERENCE_APPLIED = "preference-applied"


def job_id(job: Job | str) -> str:
    return job.id if isinstance(job, Job) else job


def job_path(job: Job | str, *rest: str) -> str:
    return "/".join(["/v1/jobs", quote(job_id(job), safe=""), *rest])


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


def list_params(
    status: str | None,
    labels: Mapping[str, str] | None,
    created_after: datetime | str | None,
    created_before: datetime | str | None,
    limit: int | None,
    cursor: str | None,
) -> list[tuple[str, str]]:
    """GET /v1/jobs's query: the filters given, labels as repeated ``label=key:value``."""
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
    return params


def json_of(resp: httpx.Response) -> Any:
    """The answer's JSON; raises ApiError for an error answer."""
    if resp.status_code >= 400:
        raise error_of(resp)
    return resp.json()
