"""Liveness, readiness and figures."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from darkroom.api.auth import CallerDep
from darkroom.api.deps import BlobsDep, PoolDep, ServiceDep
from darkroom.api.schemas import HealthOut, ReadyOut, StatsOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz(service: ServiceDep, pool: PoolDep) -> HealthOut:
    """Liveness: the process answers. Also reports queue depth and live workers."""
    stats = service.stats()
    return HealthOut(
        status="ok",
        queue_depth=stats.queue_depth,
        workers_alive=stats.workers_alive,
        pool_size=pool.size if pool is not None else None,
    )


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
def readyz(service: ServiceDep, blobs: BlobsDep) -> JSONResponse:
    """Readiness: the database, the queue (the database itself, or the broker) and the
    blob store answer."""
    checks: dict[str, str] = {}
    for name, check in (
        ("database", service.store.ping),
        ("queue", service.queue.ping),
        ("storage", blobs.check),
    ):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}: {exc}"
    ready = all(v == "ok" for v in checks.values())
    body = ReadyOut(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/v1/stats", response_model=StatsOut, tags=["jobs"])
def stats(service: ServiceDep, _caller: CallerDep) -> StatsOut:
    """Jobs per status, queue depth, age of the oldest queued job, recent throughput."""
    s = service.stats()
    return StatsOut(
        jobs=s.jobs,
        queue_depth=s.queue_depth,
        oldest_queued_age_s=round(s.oldest_queued_age_s, 3)
        if s.oldest_queued_age_s is not None
        else None,
        throughput_per_s=round(s.succeeded_last_minute / 60, 3),
        succeeded_last_minute=s.succeeded_last_minute,
        workers_alive=s.workers_alive,
    )
