"""GET /v1/jobs/{id}/events: a job's status and progress as Server-Sent Events.

The stream reads the job's row at a short interval rather than listening inside this
process, so it follows a job run by any worker through any API process."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from darkroom.api.deps import BaseUrlDep, ServiceDep, SettingsDep
from darkroom.api.errors import error_responses
from darkroom.api.schemas import job_out
from darkroom.jobs.errors import NotFound
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


async def job_events(
    request: Request, service: JobService, job: Job, base_url: str, poll_s: float
) -> AsyncIterator[bytes]:
    number = 0
    last: tuple[str, int] | None = None
    quiet_since = time.monotonic()
    while True:
        state = (job.status.value, job.progress)
        if job.status.finished:
            number += 1
            delivery = await run_in_threadpool(service.delivery, job)
            view = job_out(job, base_url, None, delivery).model_dump(mode="json")
            yield _frame("status", number, view)
            return
        if state != last:
            number += 1
            if last is None or state[0] != last[0]:
                error = {"code": job.error_code, "message": job.error_message}
                summary = {
                    "id": job.id,
                    "status": job.status.value,
                    "progress": job.progress,
                    "attempts": job.attempts,
                    "error": error if job.error_code else None,
                }
                yield _frame("status", number, summary)
            else:
                progress = {"id": job.id, "status": job.status.value, "progress": job.progress}
                yield _frame("progress", number, progress)
            last = state
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            yield b": keep-alive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(poll_s)
        if await request.is_disconnected():
            return
        try:
            job = await run_in_threadpool(service.get, job.id)
        except NotFound:  # deleted or expired meanwhile
            return


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": EVENTS_DESCRIPTION},
        **error_responses(404),
    },
    summary="Stream a job's status and progress (Server-Sent Events)",
)
async def stream_events(
    job_id: str,
    request: Request,
    service: ServiceDep,
    settings: SettingsDep,
    base_url: BaseUrlDep,
) -> StreamingResponse:
    job = await run_in_threadpool(service.get, job_id)  # 404 here, before streaming
    return StreamingResponse(
        job_events(request, service, job, base_url, settings.events_poll_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
