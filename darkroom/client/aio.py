"""AsyncClient: the native API from asyncio code; the same calls as Client, awaited."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from darkroom.client.calls import OutputRef, job_path, json_of, list_params, variant_url
from darkroom.client.errors import Unreachable, WaitTimeout, error_of
from darkroom.client.models import Job, JobPage
from darkroom.client.requests import (
    OutputArg,
    SourceArg,
    Submission,
    prefer_wait,
    wait_param,
)
from darkroom.client.transport import (
    DEFAULT_TIMEOUT_S,
    DEFAULT_URL,
    JSON,
    client_options,
    held_timeout,
)
from darkroom.client.waiting import WaitLoop
from darkroom.signing.variants import ParamValue


class AsyncClient:
    """darkroom's native API over one pooled asynchronous HTTP client. The arguments are
    Client's; use it as an async context manager, or await ``aclose()``."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        signing_key: str | bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_key = signing_key
        self.timeout_s = timeout
        self.http = httpx.AsyncClient(**client_options(self.base_url, api_key, timeout))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, exc) from exc

    async def _job(
        self, method: str, url: str, headers: Mapping[str, str] = JSON, **kwargs: Any
    ) -> Job:
        return Job.from_json(json_of(await self._send(method, url, headers=headers, **kwargs)))

    async def submit(
        self,
        source: SourceArg | None = None,
        *,
        sources: Sequence[SourceArg] | None = None,
        outputs: Sequence[OutputArg] | None = None,
        labels: Mapping[str, str] | None = None,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
        retention_s: int | None = None,
        page: int | None = None,
        placeholders: bool | None = None,
        wait: float | None = None,
        **fields: Any,
    ) -> Job:
        """Client.submit, awaited; local files are read in a thread."""
        submission = Submission.of(
            source,
            sources,
            outputs,
            dict(
                labels=labels,
                webhook_url=webhook_url,
                idempotency_key=idempotency_key,
                retention_s=retention_s,
                page=page,
                placeholders=placeholders,
                **fields,
            ),
        )
        headers = dict(JSON)
        timeout: float | httpx.Timeout = self.timeout_s
        if wait:
            headers["Prefer"] = prefer_wait(wait)
            timeout = held_timeout(self.timeout_s, wait_param(wait))
        loop = WaitLoop(wait or 0)
        uploads = submission.uploads
        if uploads is None:
            body: dict[str, Any] = {"json": await asyncio.to_thread(submission.json_body)}
        else:
            contents = await asyncio.to_thread(lambda: [u.read() for u in uploads])
            parts = [
                ("file", (u.name, data, u.content_type))
                for u, data in zip(uploads, contents, strict=True)
            ]
            body = {"files": parts, "data": submission.form_fields()}
        job = await self._job("POST", "/v1/jobs", headers, timeout=timeout, **body)
        return await self._wait(job, loop, raise_on_timeout=False)

    async def get(self, job: Job | str, *, wait: float | None = None) -> Job:
        """Client.get, awaited."""
        if not wait:
            return await self._job("GET", job_path(job))
        held = wait_param(wait)
        return await self._job(
            "GET",
            job_path(job),
            params={"wait": held},
            timeout=held_timeout(self.timeout_s, held),
        )

    async def wait(self, job: Job | str, *, timeout: float | None = 300.0) -> Job:
        """Client.wait, awaited."""
        current = job if isinstance(job, Job) else await self.get(job)
        return await self._wait(current, WaitLoop(timeout), raise_on_timeout=True)

    async def _wait(self, job: Job, loop: WaitLoop, *, raise_on_timeout: bool) -> Job:
        while not job.finished:
            if loop.expired():
                if raise_on_timeout:
                    raise WaitTimeout(job, loop.timeout_s or 0)
                return job
            job = await self.get(job, wait=loop.ask_s())
            if not job.finished and (pause := loop.pause_s()):
                await asyncio.sleep(pause)
        return job

    async def list_jobs(
        self,
        *,
        status: str | None = None,
        labels: Mapping[str, str] | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> JobPage:
        """Client.list_jobs, awaited."""
        params = list_params(status, labels, created_after, created_before, limit, cursor)
        resp = await self._send("GET", "/v1/jobs", params=params, headers=JSON)
        return JobPage.from_json(json_of(resp))

    async def iter_jobs(
        self,
        *,
        status: str | None = None,
        labels: Mapping[str, str] | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Job]:
        """Client.iter_jobs, as an async iterator."""
        cursor: str | None = None
        while True:
            page = await self.list_jobs(
                status=status,
                labels=labels,
                created_after=created_after,
                created_before=created_before,
                limit=page_size,
                cursor=cursor,
            )
            for job in page.jobs:
                yield job
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def cancel(self, job: Job | str) -> Job:
        """Client.cancel, awaited."""
        return await self._job("DELETE", job_path(job))

    async def retry(self, job: Job | str) -> Job:
        """Client.retry, awaited."""
        return await self._job("POST", job_path(job, "retry"))

    async def redeliver_webhook(self, job: Job | str) -> Job:
        """Client.redeliver_webhook, awaited."""
        return await self._job("POST", job_path(job, "webhook", "redeliver"))

    def variant_url(self, output: OutputRef, **variant: ParamValue) -> str:
        """Client.variant_url."""
        return variant_url(output, variant, self.signing_key)

    async def download(
        self, output: OutputRef, *, accept: str | None = None, **variant: ParamValue
    ) -> bytes:
        """Client.download, awaited."""
        headers = {"Accept": accept} if accept else None
        resp = await self._send("GET", self.variant_url(output, **variant), headers=headers)
        if resp.status_code >= 400:
            raise error_of(resp)
        return resp.content

    async def download_to(
        self,
        output: OutputRef,
        path: str | os.PathLike[str],
        *,
        accept: str | None = None,
        **variant: ParamValue,
    ) -> Path:
        """Client.download_to, awaited; the file is written in a thread."""
        data = await self.download(output, accept=accept, **variant)
        target = Path(path)
        await asyncio.to_thread(_write_whole, target, data)
        return target


def _write_whole(target: Path, data: bytes) -> None:
    partial = target.with_name(target.name + ".part")
    try:
        partial.write_bytes(data)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
