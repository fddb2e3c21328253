"""/dashboard: the page, its script and style sheet, its sign-in, and the two reads the
native API has no route for (the charts' figures and a job's source picture)."""

from __future__ import annotations

import html
import time
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from darkroom.api.auth import Access
from darkroom.api.deps import BlobsDep, ServiceDep, SettingsDep
from darkroom.dashboard import session
from darkroom.dashboard.forward import Forwarded
from darkroom.dashboard.timeline import MINUTES, per_minute
from darkroom.jobs.errors import ServiceError
from darkroom.jobs.model import JobFilter
from darkroom.jobs.sources import resolve_input_path
from darkroom.jobs.status import JobStatus

router = APIRouter(prefix="/dashboard", include_in_schema=False)

STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
# the page loads nothing from elsewhere and may not be framed
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _file(name: str) -> str:
    return resources.files("darkroom.dashboard").joinpath("static", name).read_text("utf-8")


def _login_page(message: str, status_code: int) -> HTMLResponse:
    body = _file("login.html").replace("{message}", html.escape(message))
    return HTMLResponse(body, status_code=status_code, headers=PAGE_HEADERS)


@router.get("")
async def page(request: Request) -> Response:
    try:
        await session.signed_in(request)
    except ServiceError:
        return _login_page("Sign in with an admin key.", 401)
    return HTMLResponse(_file("index.html"), headers=PAGE_HEADERS)


@router.post("/login")
async def login(request: Request) -> Response:
    """The login form's key, kept in the dashboard's cookie when it is an admin key."""
    access: Access = request.app.state.access
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("key") or [""])[0].strip()
    response = RedirectResponse("/dashboard", status_code=303)
    if session.login_needed(access):
        if not await run_in_threadpool(session.is_admin_key, access, key):
            return _login_page("That is not an admin key.", 401)
        session.keep_key(response, request, key)
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/dashboard", status_code=303)
    session.forget_key(response)
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        raise ServiceError("no such file", code="not_found", status_code=404)
    return Response(_file(name), media_type=STATIC[name], headers={"Cache-Control": "no-cache"})


@router.get("/api/overview")
def overview(
    request: Request, _key: session.DashboardKey, service: ServiceDep, settings: SettingsDep
) -> JSONResponse:
    """Queue depth and throughput per minute over the last hour, and the workers alive
    with the jobs each is running."""
    now = time.time()
    minutes = per_minute(service.store.activity(now - MINUTES * 60), now)
    running = service.store.list_jobs(JobFilter(status=JobStatus.PROCESSING), limit=500).jobs
    by_worker: dict[str, list[dict[str, Any]]] = {}
    for job in running:
        by_worker.setdefault(job.lease_owner or "", []).append(
            {"id": job.id, "progress": job.progress, "started_at": job.started_at}
        )
    workers = [
        {**row, "jobs": by_worker.pop(row["id"], [])}
        for row in service.store.workers_seen(settings.lease_s)
    ]
    stats = service.stats()
    pool = request.app.state.pool
    return JSONResponse(
        {
            "now": now,
            "minutes": [vars(m) for m in minutes],
            "queue_depth": stats.queue_depth,
            "oldest_queued_age_s": stats.oldest_queued_age_s,
            "jobs": stats.jobs,
            "workers": workers,
            "unlisted_running": [job for jobs in by_worker.values() for job in jobs],
            "pool": None if pool is None else {"size": pool.size, "pids": pool.pids()},
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/api/jobs/{job_id}/sources/{index}")
def source_picture(
    job_id: str,
    index: int,
    _key: session.DashboardKey,
    service: ServiceDep,
    blobs: BlobsDep,
    settings: SettingsDep,
) -> Response:
    """A job's source as it was given (uploads and input paths; a URL is not kept)."""
    job = service.get(job_id)
    if not 0 <= index < len(job.sources):
        raise ServiceError("no such source", code="not_found", status_code=404)
    ref = job.sources[index]
    if ref["kind"] == "blob":
        data = blobs.get(ref["key"])
    elif ref["kind"] == "path":
        data = resolve_input_path(settings.input_root, ref["path"]).read_bytes()
    else:
        raise ServiceError("a URL source is not kept", code="not_found", status_code=404)
    facts = (job.source_facts or [])[index : index + 1]
    kind = facts[0]["format"] if facts else "octet-stream"
    media = {"octet-stream": "application/octet-stream", "svg": "image/svg+xml"}.get(
        kind, f"image/{kind}"
    )
    # an SVG opened on its own runs no script from this origin
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=60",
        },
    )


@router.api_route("/api/v1/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE"])
async def api(path: str, key: session.DashboardKey) -> Response:
    return Forwarded(path, key)
