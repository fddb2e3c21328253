"""/v1/admin: operating this process's worker pool."""

from __future__ import annotations

from fastapi import APIRouter

from darkroom.api.auth import AdminDep
from darkroom.api.deps import PoolDep
from darkroom.api.errors import error_responses
from darkroom.api.schemas import PoolOut, PoolResize
from darkroom.jobs.errors import Conflict
from darkroom.worker.pool import WorkerPool

router = APIRouter(prefix="/v1/admin", tags=["admin"])


def _require(pool: WorkerPool | None) -> WorkerPool:
    if pool is None:
        raise Conflict("this process runs no worker pool", code="no_pool")
    return pool


def _pool_out(pool: WorkerPool) -> PoolOut:
    return PoolOut(size=pool.size, alive=pool.alive(), pids=pool.pids())


@router.get("/workers", response_model=PoolOut, responses=error_responses(401, 403, 409))
def get_workers(_auth: AdminDep, pool: PoolDep) -> PoolOut:
    return _pool_out(_require(pool))


@router.put("/workers", response_model=PoolOut, responses=error_responses(401, 403, 409, 422))
def resize_workers(body: PoolResize, _auth: AdminDep, pool: PoolDep) -> PoolOut:
    """Grow or shrink the pool now. Shrinking lets busy workers finish their job first."""
    running = _require(pool)
    running.resize(body.workers)
    return _pool_out(running)
