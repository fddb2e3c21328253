"""The FastAPI application, wired explicitly from settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from darkroom import __version__, metrics, tracing
from darkroom.api import cors, docs_pages, errors, openapi
from darkroom.api.access_log import AccessLog
from darkroom.api.auth import Access
from darkroom.api.body_limit import BodyLimit
from darkroom.api.job_watch import JobWatch
from darkroom.api.nosniff import NoSniff
from darkroom.api.routes import admin, events, health, jobs, outputs
from darkroom.api.variants import Variants
from darkroom.background import Background
from darkroom.compose import build
from darkroom.config import Settings
from darkroom.dashboard.routes import router as dashboard_router
from darkroom.dialects.registry import (
    Enabled,
    background_services,
    effect_handlers,
    install,
    schemas,
    unclaimed,
    webhook_bodies,
)
from darkroom.jobs.presets import read_presets
from darkroom.jobs.spec import JobOptions, JobRequest
from darkroom.metrics.endpoint import router as metrics_router
from darkroom.slices import image_limits, variant_settings
from darkroom.store.api_keys import ApiKeyStore
from darkroom.store.job_ends import open_job_ends
from darkroom.worker.pool import WorkerPool

log = logging.getLogger("darkroom.api")


def create_app(
    settings: Settings,
    *,
    pool_size: int = 0,
    dialects: Sequence[Enabled] = (),
    consumers: bool | None = None,
) -> FastAPI:
    """The API; with ``pool_size`` > 0 it also runs that many worker processes; with
    ``dialects``, it also answers their routes (docs/compatibility.md). The dialects'
    consumers, which take their systems' work and submit it, run where workers run: with
    the pool, unless ``consumers`` says otherwise (workers run beside the app another way).
    DARKROOM_AUTH unset off loopback is a ValueError (Settings.auth_mode), a presets file
    that cannot be used a PresetError (jobs/presets.py)."""
    settings.auth_mode()
    # figures of this process and of the workers it spawns, served at /metrics
    metrics.ensure_directory()
    tracing.setup_from_env("api")  # when the OTEL_* variables ask for traces

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: WorkerPool | None = None

        def wake_workers() -> None:
            if pool is not None:
                pool.wake()

        parts = build(settings, wake_workers=wake_workers, schemas=schemas(dialects))
        pool = WorkerPool(settings, parts.store, pool_size) if pool_size > 0 else None
        with_consumers = pool is not None if consumers is None else consumers
        app.state.settings = settings
        app.state.blobs = parts.blobs
        app.state.pool = pool
        app.state.service = parts.service
        # outputs converted on the fly, bounded per process (api/variants.py)
        app.state.variants = variants = Variants(
            parts.blobs, variant_settings(settings), image_limits(settings)
        )
        app.state.access = Access(settings, ApiKeyStore(parts.engine))  # api/auth.py
        app.state.job_watch = job_watch = JobWatch(
            parts.store, settings.events_poll_s, open_job_ends(parts.engine)
        )
        job_watch.start()  # the one reader of job states: event streams, waits for an end
        background = Background(
            parts,
            webhook_bodies(dialects),
            effect_handlers(dialects, parts.service),
            # dialects' consumers submit work: only where workers run, as the systems did
            background_services(dialects, parts.service) if with_consumers else [],
        )
        background.start()
        if pool is not None:
            pool.start()
        log.info("darkroom api ready", extra={"workers": pool_size})
        try:
            yield
        finally:
            await job_watch.stop()
            if pool is not None:
                log.info("stopping workers: waiting for running jobs")
                await run_in_threadpool(pool.stop)
            await run_in_threadpool(background.stop)
            await run_in_threadpool(variants.close)  # waits for a conversion running
            parts.close()

    app = FastAPI(
        title="darkroom",
        version=__version__,
        description="Asynchronous image processing: submit images, poll or stream progress, "
        "fetch results converted on the fly.",
        lifespan=lifespan,
        docs_url=None,  # api/docs_pages.py serves them without a CDN
        redoc_url=None,
        # FastAPI's own spans (the request, its handler), parents of darkroom's
        telemetry={"tracer_provider": tracing.provider()},
    )
    # named output specs, read (and checked) now: a mistake stops darkroom before it serves
    app.state.presets = read_presets(settings.presets) if settings.presets else {}
    errors.install(app)
    app.add_middleware(NoSniff)  # X-Content-Type-Options on every response
    # every body bounded before it is held whole; uploads lift it (api/body_limit.py)
    app.add_middleware(BodyLimit, max_bytes=settings.json_body_limit())
    cors.install(app, cors.origins(settings.cors_origins))  # outermost: on every answer
    app.add_middleware(AccessLog)  # around CORS: its preflight answers are logged too
    claimed = install(app, dialects)  # first: a route they share is theirs
    for router in (jobs.router, events.router, outputs.router, health.router, admin.router):
        app.include_router(unclaimed(router, claimed))
    app.include_router(dashboard_router)  # /dashboard, kept out of the schema
    app.include_router(metrics_router)  # /metrics, kept out of the schema
    openapi.install(app, [JobRequest, JobOptions])
    docs_pages.install(app)
    return app
