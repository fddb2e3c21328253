"""Client: the native API from synchronous code."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

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
from darkroom.client.errors import Unreachable, error_of
from darkroom.client.models import Job, JobPage
from darkroom.client.requests import OutputArg, SourceArg, Submission, Upload
from darkroom.client.transport import DEFAULT_TIMEOUT_S, DEFAULT_URL, client_options
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

    def _send(self, call: Call) -> httpx.Response:
        try:
            return self.http.request(call.method, call.url, **call.options())
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, exc) from exc

    def _job(self, call: Call) -> Job:
        return Job.from_json(json_of(self._send(call)))

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
        loop = WaitLoop(wait or 0)
        with ExitStack() as files:
            body = submission.body(partial(_content, files=files))
            job = self._job(submit_call(body, wait, self.timeout_s))
        return self._wait(job, loop, raise_on_timeout=False)

    def get(self, job: Job | str, *, wait: float | None = None) -> Job:
        """The job now; with ``wait``, once it finishes or ``wait`` seconds (at most 60)
        have passed, whichever comes first (an older server answers at once)."""
        return self._job(get_call(job, wait, self.timeout_s))

    def wait(self, job: Job | str, *, timeout: float | None = 300.0) -> Job:
        """The job once it has finished (succeeded, failed or canceled). Raises WaitTimeout
        (with the job as last seen) after ``timeout`` seconds; None waits for ever."""
        current = job if isinstance(job, Job) else self.get(job)
        return self._wait(current, WaitLoop(timeout), raise_on_timeout=True)

    def _wait(self, job: Job, loop: WaitLoop, *, raise_on_timeout: bool) -> Job:
        while (ask_s := loop.next_ask_s(job, raise_on_timeout=raise_on_timeout)) is not None:
            job = self.get(job, wait=ask_s)
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
        call = list_call(status, labels, created_after, created_before, limit, cursor)
        return JobPage.from_json(json_of(self._send(call)))

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
        page_call = partial(list_call, status, labels, created_after, created_before, page_size)
        cursor: str | None = None
        while True:
            page = JobPage.from_json(json_of(self._send(page_call(cursor))))
            yield from page.jobs
            if (cursor := page.next_cursor) is None:
                return

    def cancel(self, job: Job | str) -> Job:
        """Cancel the job if it has not finished, and delete its sources and outputs."""
        return self._job(job_call("DELETE", job))

    def retry(self, job: Job | str) -> Job:
        """Queue a failed job again (409 ``invalid_state`` otherwise)."""
        return self._job(job_call("POST", job, "retry"))

    def redeliver_webhook(self, job: Job | str) -> Job:
        """Send the finished job's webhook again, with the same ``webhook-id``."""
        return self._job(job_call("POST", job, "webhook", "redeliver"))

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
        call = download_call(self.variant_url(output, **variant), accept)
        return checked(self._send(call)).content

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
        partial_file = target.with_name(target.name + ".part")
        call = download_call(self.variant_url(output, **variant), accept)
        try:
            with self._stream(call) as resp, partial_file.open("wb") as out:
                for chunk in resp.iter_bytes():
                    out.write(chunk)
            partial_file.replace(target)
        finally:
            partial_file.unlink(missing_ok=True)
        return target

    @contextmanager
    def _stream(self, call: Call) -> Iterator[httpx.Response]:
        try:
            with self.http.stream(call.method, call.url, **call.options()) as resp:
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
