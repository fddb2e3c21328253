"""The FastAPI application, wired explicitly from settings."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from darkroom import __version__
from darkroom.api import errors, openapi
from darkroom.api.routes import admin, events, health, jobs, outputs
from darkroom.background import Background
from darkroom.blobs import open_blobs
from darkroom.config import Settings
from darkroom.dialects.registry import (
    Enabled,
    background_services,
    install,
    unclaimed,
    webhook_bodies,
)
from darkroom.jobs.service import JobService
from darkroom.jobs.spec import JobOptions, JobRequest
from darkroom.outbound import AllowList, OutboundGuard
from darkroom.queue import open_queue
from darkroom.store import JobStore, open_engine
from darkroom.store.webhooks import WebhookStore
from darkroom.worker.pool import WorkerPool

log = logging.getLogger("darkroom.api")


def create_app(
    settings: Settings, *, pool_size: int = 0, dialects: Sequence[Enabled] = ()
) -> FastAPI:
    """The API; with ``pool_size`` > 0 it also runs that many worker processes; with
    ``dialects``, it also answers their routes (docs/compatibility.md)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_engine(settings.resolved_database_url())
        store = JobStore(engine)
        blobs = open_blobs(settings.resolved_storage_url(), **settings.blob_options())
        pool = WorkerPool(settings, store, pool_size) if pool_size > 0 else None
        app.state.settings = settings
        app.state.blobs = blobs
        app.state.pool = pool
        queue = open_queue(settings, store, consumer=f"api-{socket.gethostname()}-{os.getpid()}")
        app.state.service = JobService(
            store,
            blobs,
            queue,
            settings,
            OutboundGuard(AllowList.parse(settings.outbound_allow)),
            WebhookStore(engine),
            on_submitted=pool.notify if pool else None,
        )
        services = background_services(dialects, settings, engine) if pool is not None else []
        background = Background(settings, engine, blobs, webhook_bodies(dialects), services)
        background.start()
        if pool is not None:
            pool.start()
        log.info("darkroom api ready", extra={"workers": pool_size})
        try:
            yield
        finally:
            if pool is not None:
                log.info("stopping workers: waiting for running jobs")
                await run_in_threadpool(pool.stop)
            await run_in_threadpool(background.stop)
            queue.close()
            engine.dispose()

    app = FastAPI(
        title="darkroom",
        version=__version__,
        description="Asynchronous image processing: submit images, poll or stream progress, "
        "fetch results converted on the fly.",
        lifespan=lifespan,
    )
    errors.install(app)
    claimed = install(app, dialects)  # first: a route they share is theirs
    for router in (jobs.router, events.router, outputs.router, health.router, admin.router):
        app.include_router(unclaimed(router, claimed))
    openapi.install(app, [JobRequest, JobOptions])
    return app
