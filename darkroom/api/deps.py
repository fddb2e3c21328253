"""Request dependencies: what a route needs, taken from the app's state.

They are ``async`` because they only read attributes: FastAPI runs plain ``def``
dependencies in its thread pool, a thread hop per dependency per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from darkroom.api.job_watch import JobWatch
from darkroom.api.variants import Variants
from darkroom.blobs import BlobStore
from darkroom.config import Settings
from darkroom.service import JobService
from darkroom.worker.pool import WorkerPool


async def _service(request: Request) -> JobService:
    service: JobService = request.app.state.service
    return service


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _blobs(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


async def _variants(request: Request) -> Variants:
    variants: Variants = request.app.state.variants
    return variants


async def _pool(request: Request) -> WorkerPool | None:
    pool: WorkerPool | None = request.app.state.pool
    return pool


async def _job_watch(request: Request) -> JobWatch:
    watch: JobWatch = request.app.state.job_watch
    return watch


def public_base(request: Request, public_url: str | None) -> str:
    """The absolute base clients reach this API at, for links in answers (the native API's
    and the dialects'): DARKROOM_PUBLIC_URL, else the scheme (X-Forwarded-Proto when a
    proxy set it), the Host the request was sent to, and the app's root path. Links made
    outside a request use Settings.link_base."""
    if public_url:
        return public_url.rstrip("/")
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    scheme = forwarded or request.url.scheme
    host = request.headers.get("host") or request.url.netloc
    return f"{scheme}://{host}{request.scope.get('root_path', '')}".rstrip("/")


async def _base_url(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return public_base(request, settings.public_url)


ServiceDep = Annotated[JobService, Depends(_service)]
SettingsDep = Annotated[Settings, Depends(_settings)]
BlobsDep = Annotated[BlobStore, Depends(_blobs)]
VariantsDep = Annotated[Variants, Depends(_variants)]
PoolDep = Annotated["WorkerPool | None", Depends(_pool)]
BaseUrlDep = Annotated[str, Depends(_base_url)]
JobWatchDep = Annotated[JobWatch, Depends(_job_watch)]
