"""/v1/jobs: submit, look up, list, cancel and retry jobs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import ValidationError, WithJsonSchema
from starlette.concurrency import run_in_threadpool

from darkroom.api.auth import Access, CallerDep
from darkroom.api.body_limit import accept_upload
from darkroom.api.cursors import decode_cursor, encode_cursor
from darkroom.api.deps import BaseUrlDep, JobWatchDep, ServiceDep, SettingsDep
from darkroom.api.errors import error_responses, validation_details, why_invalid
from darkroom.api.openapi import schema_ref
from darkroom.api.prefer import MAX_WAIT_S, preferred_wait, wait_applied
from darkroom.api.schemas import JobList, JobOut, job_out
from darkroom.api.upload_stream import UploadLimits, read_upload
from darkroom.blobs import BlobStore
from darkroom.config import Settings
from darkroom.jobs.bounds import epoch_seconds
from darkroom.jobs.errors import InvalidRequest
from darkroom.jobs.model import Job, JobFilter
from darkroom.jobs.sources import IncomingSource, decode_base64
from darkroom.jobs.spec import JobOptions, JobRequest
from darkroom.jobs.status import JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

# Bodies up to this size (no inline image data) are parsed on the event loop: a thread
# hop would cost more than the parse. Larger ones, base64 images, go to a thread.
INLINE_PARSE_BYTES = 64 * 1024

# A label filter as the schema describes it: key:value, no NUL (PostgreSQL refuses it).
LABEL_FILTER = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[^:\\u0000]+:[^\\u0000]*$"},
}

MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "One or more images; each is a source, in order.",
        },
        "spec": {
            "type": "string",
            "description": "JSON of JobOptions: the job request without its sources.",
        },
    },
    "required": ["file"],
}

CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": schema_ref(JobRequest)},
            "multipart/form-data": {"schema": MULTIPART_SCHEMA},
        },
    }
}


def _with_presets(request: Request) -> dict[str, Any]:
    """The validation context that fills outputs naming a preset (jobs/presets.py)."""
    return {"presets": request.app.state.presets}


async def _read_json(
    request: Request, settings: Settings
) -> tuple[JobOptions, list[IncomingSource]]:
    body = await request.body()  # at most DARKROOM_MAX_JSON_BYTES (api/body_limit.py)
    parse = partial(JobRequest.model_validate_json, context=_with_presets(request))
    try:
        if len(body) <= INLINE_PARSE_BYTES:
            parsed = parse(body)
        else:
            parsed = await run_in_threadpool(parse, body)
    except ValidationError as exc:
        raise InvalidRequest(
            why_invalid("the job request", details := validation_details(exc)), details=details
        ) from exc
    sources = []
    for src in parsed.all_sources():
        if src.base64 is not None:
            data = await run_in_threadpool(
                decode_base64, src.base64, max_bytes=settings.max_upload_bytes
            )
            sources.append(IncomingSource(data=data, filename=src.filename))
        else:
            sources.append(IncomingSource(url=src.url, path=src.path, filename=src.filename))
    return parsed, sources


@asynccontextmanager
async def _read_multipart(
    request: Request, settings: Settings, blobs: BlobStore
) -> AsyncIterator[tuple[JobOptions, list[IncomingSource]]]:
    """The options and sources of a multipart submission, valid inside the block: its
    uploads are staged files, deleted on leaving it unless the store took them."""
    accept_upload(request, settings.max_upload_bytes * settings.max_sources + 1024 * 1024)
    limits = UploadLimits(
        max_files=settings.max_sources, max_fields=16, max_file_bytes=settings.max_upload_bytes
    )
    async with read_upload(request, limits, blobs.staging_folder()) as form:
        try:
            spec_text = form.fields.get("spec")
            raw: Any = json.loads(spec_text) if spec_text else {}
            options = JobOptions.model_validate(raw, context=_with_presets(request))
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"the spec part is not JSON: {exc}") from exc
        except ValidationError as exc:
            raise InvalidRequest(
                why_invalid("the spec part", details := validation_details(exc)),
                details=details,
            ) from exc
        if form.file_sent_as_text:
            raise InvalidRequest("each 'file' part must be a file upload")
        if not form.files:
            raise InvalidRequest(
                "multipart requests need at least one 'file' part", code="missing_source"
            )
        yield options, [IncomingSource(staged=f.staged, filename=f.filename) for f in form.files]


PREFER_DESCRIPTION = (
    "RFC 7240 preferences. `wait=N` (seconds, above 0; more than 60 counts as 60): answer "
    "200 with the finished job if it finishes within N seconds, else 202 as without it; "
    "the answer then carries `Preference-Applied: wait=N`. Other preferences are ignored."
)
WAIT_DESCRIPTION = (
    "Seconds to wait for the job to finish (succeeded, failed or canceled) before "
    "answering; the answer comes as soon as it has, else after this long, with the job "
    "as it is then."
)
PREFERENCE_APPLIED = {
    "Preference-Applied": {
        "description": "`wait=N` when `Prefer: wait` was honoured (N as applied).",
        "schema": {"type": "string"},
    }
}
FINISHED_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "model": JobOut,
        "description": "The job finished within `Prefer: wait=N`.",
        "headers": PREFERENCE_APPLIED,
    },
    202: {
        "description": "The job is queued (or still running after `Prefer: wait=N`).",
        "headers": PREFERENCE_APPLIED,
    },
}


@router.post(
    "",
    status_code=202,
    response_model=JobOut,
    openapi_extra=CREATE_BODY,
    responses={**FINISHED_ANSWER, **error_responses(401, 403, 404, 409, 413, 415, 422, 429)},
    summary="Submit a job",
)
async def create_job(
    request: Request,
    response: Response,
    service: ServiceDep,
    settings: SettingsDep,
    base_url: BaseUrlDep,
    caller: CallerDep,
    watch: JobWatchDep,
    prefer: Annotated[str | None, Header(alias="Prefer", description=PREFER_DESCRIPTION)] = None,
) -> JobOut:
    """Queue image work. Send JSON (a `source` or `sources` by URL, base64 or input-folder
    path) or multipart (`file` parts plus an optional `spec` part with the same JSON minus
    the sources). Without `outputs`, one 512x512 WebP thumbnail named `default` is made.
    With `Prefer: wait=N`, the answer waits up to N seconds for the job to finish."""
    access: Access = request.app.state.access
    await run_in_threadpool(access.check_quota, caller)  # 429 quota_exceeded
    content_type = request.headers.get("content-type", "")

    def submit(options: JobOptions, sources: list[IncomingSource]) -> tuple[Job, bool, int | None]:
        job, created = service.submit(
            options, sources, owner=caller.owner, max_queued=caller.max_queued
        )
        return job, created, service.queue_position(job)

    if content_type.startswith("multipart/form-data"):
        async with _read_multipart(request, settings, service.blobs) as (options, sources):
            job, created, position = await run_in_threadpool(submit, options, sources)
    elif content_type.startswith("application/json") or not content_type:
        options, sources = await _read_json(request, settings)
        job, created, position = await run_in_threadpool(submit, options, sources)
    else:
        raise InvalidRequest(
            "send application/json or multipart/form-data",
            code="unsupported_media_type",
            status_code=415,
        )
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"{base_url}/v1/jobs/{job.id}"
    wait_s = preferred_wait(request.headers.getlist("prefer"))  # `prefer` is the first
    if wait_s is None:
        return job_out(job, base_url, position, signer=caller.signer)
    response.headers["Preference-Applied"] = wait_applied(wait_s)
    latest = await watch.until_finished(job, wait_s)
    if latest is None:  # deleted meanwhile: the answer it would have had at once
        return job_out(job, base_url, position, signer=caller.signer)
    if latest.status.finished:
        response.status_code = 200

    def view() -> JobOut:
        return job_out(
            latest,
            base_url,
            service.queue_position(latest),
            service.delivery(latest) if latest.status.finished else None,
            caller.signer,
        )

    return await run_in_threadpool(view)


@router.get("/{job_id}", response_model=JobOut, responses=error_responses(401, 404, 422))
async def get_job(
    job_id: str,
    service: ServiceDep,
    base_url: BaseUrlDep,
    caller: CallerDep,
    watch: JobWatchDep,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S, description=WAIT_DESCRIPTION)] = 0,
) -> JobOut:
    """The job; 404 `not_found` if unknown, 404 `expired` once its retention ran out.
    With `wait=N`, once it has finished or after N seconds, whichever comes first."""

    def view(job: Job) -> JobOut:
        return job_out(
            job, base_url, service.queue_position(job), service.delivery(job), caller.signer
        )

    if not wait:
        return await run_in_threadpool(lambda: view(service.get(job_id, caller.scope)))
    job = await run_in_threadpool(service.get, job_id, caller.scope)
    latest = await watch.until_finished(job, wait)
    if latest is None:  # deleted or expired meanwhile: 404 as at once
        latest = await run_in_threadpool(service.get, job_id, caller.scope)
    return await run_in_threadpool(view, latest)


@router.get("", response_model=JobList, responses=error_responses(401, 422))
def list_jobs(
    service: ServiceDep,
    base_url: BaseUrlDep,
    caller: CallerDep,
    status: JobStatus | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    label: Annotated[
        list[str] | None,
        Query(description="key:value; repeat to require several"),
        WithJsonSchema(LABEL_FILTER),  # checked below: 422 invalid_label
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> JobList:
    """Newest first. Pass `next_cursor` back as `cursor` for the next page."""
    labels: dict[str, str] = {}
    for item in label or []:
        key, sep, value = item.partition(":")
        if not sep or not key or "\x00" in item:
            raise InvalidRequest("label filters are written key:value", code="invalid_label")
        labels[key] = value
    page = service.list_jobs(
        JobFilter(
            status=status,
            created_after=epoch_seconds(created_after) if created_after else None,
            created_before=epoch_seconds(created_before) if created_before else None,
            labels=labels,
            owner=caller.scope,
        ),
        limit=limit,
        after=decode_cursor(cursor) if cursor else None,
    )
    deliveries = service.deliveries(page.jobs)
    return JobList(
        jobs=[job_out(j, base_url, None, deliveries.get(j.id), caller.signer) for j in page.jobs],
        next_cursor=encode_cursor(page.jobs[-1]) if page.more else None,
    )


@router.delete("/{job_id}", response_model=JobOut, responses=error_responses(401, 404))
def delete_job(job_id: str, service: ServiceDep, base_url: BaseUrlDep, caller: CallerDep) -> JobOut:
    """Cancel the job if it has not finished, and delete its stored sources and outputs.
    The record stays, with `artifacts_deleted: true`."""
    job = service.cancel_and_delete(job_id, caller.scope)
    return job_out(job, base_url, None, signer=caller.signer)


@router.post("/{job_id}/retry", response_model=JobOut, responses=error_responses(401, 404, 409))
def retry_job(job_id: str, service: ServiceDep, base_url: BaseUrlDep, caller: CallerDep) -> JobOut:
    """Queue a failed job again, with a fresh set of attempts."""
    job = service.retry(job_id, caller.scope)
    return job_out(job, base_url, service.queue_position(job), service.delivery(job), caller.signer)


@router.post(
    "/{job_id}/webhook/redeliver",
    status_code=202,
    response_model=JobOut,
    responses=error_responses(401, 404, 409),
)
def redeliver_webhook(
    job_id: str, service: ServiceDep, base_url: BaseUrlDep, caller: CallerDep
) -> JobOut:
    """Send the finished job's webhook again, with the same `webhook-id` and a fresh set of
    attempts. 409 `no_webhook`, `invalid_state` (not finished) or `delivery_in_progress`."""
    job = service.redeliver(job_id, caller.scope)
    return job_out(job, base_url, None, service.delivery(job), caller.signer)
