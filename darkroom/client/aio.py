"""AsyncClient: the native API from asyncio code; the same calls as Client, awaited."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from darkroom.client.calls import (
    Call,
    OutputRef,
    checked,
    download_call,
    get_call,
    job_call,
    json_of,
    list_call,
    submit_call,
    variant_url,
)
from darkroom.client.errors import Unreachable
from darkroom.client.models import Job, JobPage
from darkroom.client.requests import OutputArg, SourceArg, Submission
from darkroom.client.transport import DEFAULT_TIMEOUT_S, DEFAULT_URL, client_options
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

    async def _send(self, call: Call) -> httpx.Response:
        try:
            return await self.http.request(call.method, call.url, **call.options())
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, exc) from exc

    async def _job(self, call: Call) -> Job:
        return Job.from_json(json_of(await self._send(call)))

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
        loop = WaitLoop(wait or 0)
        body = await asyncio.to_thread(submission.body)
        job = await self._job(submit_call(body, wait, self.timeout_s))
        return await self._wait(job, loop, raise_on_timeout=False)

    async def get(self, job: Job | str, *, wait: float | None = None) -> Job:
        """Client.get, awaited."""
        return await self._job(get_call(job, wait, self.timeout_s))

    async def wait(self, job: Job | str, *, timeout: float | None = 300.0) -> Job:
        """Client.wait, awaited."""
        current = job if isinstance(job, Job) else await self.get(job)
        return await self._wait(current, WaitLoop(timeout), raise_on_timeout=True)

    async def _wait(self, job: Job, loop: WaitLoop, *, raise_on_timeout: bool) -> Job:
        while (ask_s := loop.next_ask_s(job, raise_on_timeout=raise_on_timeout)) is not None:
            job = await self.get(job, wait=ask_s)
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
        call = list_call(status, labels, created_after, created_before, limit, cursor)
        return JobPage.from_json(json_of(await self._send(call)))

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
        page_call = partial(list_call, status, labels, created_after, created_before, page_size)
        cursor: str | None = None
        while True:
            page = JobPage.from_json(json_of(await self._send(page_call(cursor))))
            for job in page.jobs:
                yield job
            if (cursor := page.next_cursor) is None:
                return

    async def cancel(self, job: Job | str) -> Job:
        """Client.cancel, awaited."""
        return await self._job(job_call("DELETE", job))

    async def retry(self, job: Job | str) -> Job:
        """Client.retry, awaited."""
        return await self._job(job_call("POST", job, "retry"))

    async def redeliver_webhook(self, job: Job | str) -> Job:
        """Client.redeliver_webhook, awaited."""
        return await self._job(job_call("POST", job, "webhook", "redeliver"))

    def variant_url(self, output: OutputRef, **variant: ParamValue) -> str:
        """Client.variant_url."""
        return variant_url(output, variant, self.signing_key)

    async def download(
        self, output: OutputRef, *, accept: str | None = None, **variant: ParamValue
    ) -> bytes:
        """Client.download, awaited."""
        call = download_call(self.variant_url(output, **variant), accept)
        return checked(await self._send(call)).content

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
    partial_file = target.with_name(target.name + ".part")
    try:
        partial_file.write_bytes(data)
        partial_file.replace(target)
    finally:
        partial_file.unlink(missing_ok=True)
