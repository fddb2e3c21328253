"""Client: the native API from synchronous code."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

import httpx

from darkroom.client.calls import OutputRef, job_path, json_of, list_params, variant_url
from darkroom.client.errors import Unreachable, WaitTimeout, error_of
from darkroom.client.models import Job, JobPage
from darkroom.client.requests import (
    OutputArg,
    SourceArg,
    Submission,
    Upload,
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


class Client:
    """darkroom's native API over one pooled HTTP client; safe to share between threads.

    ``api_key``: sent as ``Authorization: Bearer`` (DARKROOM_AUTH=keys). ``signing_key``:
    the server's DARKROOM_URL_SIGNING_KEY, to sign the variants this client asks for.
    ``timeout``: seconds for each request, not counting the time a wait asks the API to
    hold an answer. Use it as a context manager, or call ``close()``."""

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
        self.http = httpx.Client(**client_options(self.base_url, api_key, timeout))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, exc) from exc

    def _job(self, method: str, url: str, headers: Mapping[str, str] = JSON, **kwargs: Any) -> Job:
        return Job.from_json(json_of(self._send(method, url, headers=headers, **kwargs)))

    def submit(
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
        """Submit a job: one ``source`` or several ``sources`` (a local file path, bytes,
        an http(s) URL, or ``{"path": ...}`` inside the server's DARKROOM_INPUT_ROOT), with
        ``outputs`` as the API takes them (or a preset's name). Other job fields go in
        ``fields``. With ``wait``, waits up to that many seconds for the job to finish
        (``Prefer: wait``) and returns it as it is then, finished or not."""
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
        with ExitStack() as files:
            uploads = submission.uploads
            if uploads is None:
                body: dict[str, Any] = {"json": submission.json_body()}
            else:
                parts = [("file", (u.name, _content(u, files), u.content_type)) for u in uploads]
                body = {"files": parts, "data": submission.form_fields()}
            job = self._job("POST", "/v1/jobs", headers, timeout=timeout, **body)
        return self._wait(job, loop, raise_on_timeout=False)

    def get(self, job: Job | str, *, wait: float | None = None) -> Job:
        """The job now; with ``wait``, once it finishes or ``wait`` seconds (at most 60)
        have passed, whichever comes first (an older server answers at once)."""
        if not wait:
            return self._job("GET", job_path(job))
        held = wait_param(wait)
        return self._job(
            "GET",
            job_path(job),
            params={"wait": held},
            timeout=held_timeout(self.timeout_s, held),
        )

    def wait(self, job: Job | str, *, timeout: float | None = 300.0) -> Job:
        """The job once it has finished (succeeded, failed or canceled). Raises WaitTimeout
        (with the job as last seen) after ``timeout`` seconds; None waits for ever."""
        current = job if isinstance(job, Job) else self.get(job)
        return self._wait(current, WaitLoop(timeout), raise_on_timeout=True)

    def _wait(self, job: Job, loop: WaitLoop, *, raise_on_timeout: bool) -> Job:
        while not job.finished:
            if loop.expired():
                if raise_on_timeout:
                    raise WaitTimeout(job, loop.timeout_s or 0)
                return job
            job = self.get(job, wait=loop.ask_s())
            if not job.finished and (pause := loop.pause_s()):
                time.sleep(pause)
        return job

    def list_jobs(
        self,
        *,
        status: str | None = None,
        labels: Mapping[str, str] | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of jobs, newest first, matching every filter given."""
        params = list_params(status, labels, created_after, created_before, limit, cursor)
        return JobPage.from_json(
            json_of(self._send("GET", "/v1/jobs", params=params, headers=JSON))
        )

    def iter_jobs(
        self,
        *,
        status: str | None = None,
        labels: Mapping[str, str] | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Job]:
        """Every matching job, newest first, a page at a time."""
        cursor: str | None = None
        while True:
            page = self.list_jobs(
                status=status,
                labels=labels,
                created_after=created_after,
                created_before=created_before,
                limit=page_size,
                cursor=cursor,
            )
            yield from page.jobs
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def cancel(self, job: Job | str) -> Job:
        """Cancel the job if it has not finished, and delete its sources and outputs."""
        return self._job("DELETE", job_path(job))

    def retry(self, job: Job | str) -> Job:
        """Queue a failed job again (409 ``invalid_state`` otherwise)."""
        return self._job("POST", job_path(job, "retry"))

    def redeliver_webhook(self, job: Job | str) -> Job:
        """Send the finished job's webhook again, with the same ``webhook-id``."""
        return self._job("POST", job_path(job, "webhook", "redeliver"))

    def variant_url(self, output: OutputRef, **variant: ParamValue) -> str:
        """The output's URL asking for ``variant`` (format, width, quality, rotate, flip,
        blur, sharpen, dpr, progressive, lossless, preset), signed with the client's
        ``signing_key`` when it has one."""
        return variant_url(output, variant, self.signing_key)

    def download(
        self, output: OutputRef, *, accept: str | None = None, **variant: ParamValue
    ) -> bytes:
        """The bytes of ``output`` (an Output, one of its ``formats``, or a URL), or of a
        ``variant`` of it. ``accept``: the Accept header, which picks among the formats of
        an output kept in several."""
        headers = {"Accept": accept} if accept else None
        resp = self._send("GET", self.variant_url(output, **variant), headers=headers)
        if resp.status_code >= 400:
            raise error_of(resp)
        return resp.content

    def download_to(
        self,
        output: OutputRef,
        path: str | os.PathLike[str],
        *,
        accept: str | None = None,
        **variant: ParamValue,
    ) -> Path:
        """Like download, written to ``path`` as it arrives (whole or not at all)."""
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        headers = {"Accept": accept} if accept else None
        try:
            with (
                self._stream(self.variant_url(output, **variant), headers) as resp,
                partial.open("wb") as out,
            ):
                for chunk in resp.iter_bytes():
                    out.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    @contextmanager
    def _stream(self, url: str, headers: dict[str, str] | None) -> Iterator[httpx.Response]:
        try:
            with self.http.stream("GET", url, headers=headers) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise error_of(resp)
                yield resp
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, exc) from exc


def _content(upload: Upload, files: ExitStack) -> bytes | BinaryIO:
    """What a file part sends: the upload's bytes, or its file, read as it is sent."""
    if upload.path is None:
        return upload.data or b""
    return files.enter_context(upload.path.open("rb"))
