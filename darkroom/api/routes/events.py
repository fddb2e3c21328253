"""GET /v1/jobs/{id}/events: a job's status and progress as Server-Sent Events.

The stream follows the job's stored row, so it follows a job run by any worker through
any API process; the rows of every open stream's job are read together, once per
DARKROOM_EVENTS_POLL_S, by the process's one JobWatch (job_watch.py), which wakes a
stream when its job changes."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from darkroom.api.auth import CallerDep
from darkroom.api.deps import BaseUrlDep, JobWatchDep, ServiceDep
from darkroom.api.errors import error_responses
from darkroom.api.job_watch import JobWatch
from darkroom.api.output_links import LinkSigner
from darkroom.api.schemas import job_out
from darkroom.jobs.model import Job
from darkroom.service import JobService

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream

EVENTS_DESCRIPTION = """\
`text/event-stream`. Each event's `data` is JSON:

- `event: status` when the status changes (`queued`, `processing`, then `succeeded`,
  `failed` or `canceled`): `{id, status, progress, attempts, error}`. The last one, when
  the job finishes, is the whole job as `GET /v1/jobs/{id}` shows it; then the stream ends.
- `event: progress` when only the progress (0-100) moves: `{id, status, progress}`.

The current state is sent first. `id:` lines number the events; a comment line is sent
every 15 s while nothing changes. 404 `not_found` or `expired` before the stream starts.
"""


def _frame(event: str, number: int, data: Mapping[str, object]) -> bytes:
    return f"event: {event}\nid: {number}\ndata: {json.dumps(data)}\n\n".encode()


def _change(job: Job, number: int, *, status_moved: bool) -> bytes:
    """The event for a job whose state moved: its status, or only its progress."""
    if status_moved:
        error = {"code": job.error_code, "message": job.error_message}
        summary = {
            "id": job.id,
            "status": job.status.value,
            "progress": job.progress,
            "attempts": job.attempts,
            "error": error if job.error_code else None,
        }
        return _frame("status", number, summary)
    progress = {"id": job.id, "status": job.status.value, "progress": job.progress}
    return _frame("progress", number, progress)


async def job_events(
    request: Request,
    service: JobService,
    watch: JobWatch,
    job: Job,
    base_url: str,
    signer: LinkSigner | None = None,
) -> AsyncIterator[bytes]:
    number = 0
    last: tuple[str, int] | None = None
    quiet_since = time.monotonic()
    with watch.watch(job) as watcher:
        while True:
            state = (job.status.value, job.progress)
            if job.status.finished:
                number += 1
                delivery = await run_in_threadpool(service.delivery, job)
                view = job_out(job, base_url, None, delivery, signer).model_dump(mode="json")
                yield _frame("status", number, view)
                return
            if state != last:
                number += 1
                yield _change(job, number, status_moved=last is None or state[0] != last[0])
                last = state
                quiet_since = time.monotonic()
            # asleep until the job changes, or the keep-alive comes due
            keepalive_in = max(0.0, quiet_since + KEEPALIVE_S - time.monotonic())
            if not await watcher.changed(keepalive_in):
                yield b": keep-alive\n\n"
                quiet_since = time.monotonic()
            if await request.is_disconnected():
                return
            if watcher.job is None:  # deleted or expired meanwhile
                return
            job = watcher.job


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": EVENTS_DESCRIPTION},
        **error_responses(401, 404),
    },
    summary="Stream a job's status and progress (Server-Sent Events)",
)
async def stream_events(
    job_id: str,
    request: Request,
    service: ServiceDep,
    watch: JobWatchDep,
    base_url: BaseUrlDep,
    caller: CallerDep,
) -> StreamingResponse:
    job = await run_in_threadpool(service.get, job_id, caller.scope)  # 404 here, not streamed
    return StreamingResponse(
        job_events(request, service, watch, job, base_url, caller.signer),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
