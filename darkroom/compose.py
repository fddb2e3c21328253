"""Where a darkroom process's parts are built from settings, and closed: the database
engine, the job store, the blob store, the queue and the job service over them. The API's
lifespan, `darkroom worker` and each worker process start here."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from darkroom.blobs import BlobStore, open_blobs
from darkroom.config import Settings
from darkroom.outbound import AllowList, OutboundGuard
from darkroom.queue import JobQueue, open_queue
from darkroom.service import JobService
from darkroom.store import JobStore, open_engine
from darkroom.store.migrate import Schema, upgrade
from darkroom.store.webhooks import WebhookStore


def process_name() -> str:
    """This process, as leases and consumers name their owner: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Parts:
    settings: Settings
    engine: Engine
    store: JobStore
    blobs: BlobStore
    queue: JobQueue
    service: JobService

    def close(self) -> None:
        self.queue.close()
        self.engine.dispose()


def build(
    settings: Settings,
    *,
    wake_workers: Callable[[], None] | None = None,
    schemas: Sequence[Schema] = (),
) -> Parts:
    """The parts of a process that serves or submits jobs; ``wake_workers`` is called
    after each submission (to wake this process's own workers). The database is migrated
    to the core's schema and to each of ``schemas`` (the enabled dialects')."""
    engine, store, blobs = _open_stores(settings)
    for schema in schemas:
        upgrade(engine, schema)
    queue = open_queue(settings, store, consumer=f"api-{process_name()}")
    service = JobService(
        store,
        blobs,
        queue,
        settings,
        OutboundGuard(AllowList.parse(settings.outbound_allow)),
        WebhookStore(engine),
        wake_workers=wake_workers,
    )
    return Parts(settings, engine, store, blobs, queue, service)


@dataclass
class WorkerParts:
    """What one worker process uses: it claims, runs and records jobs, and submits none."""

    engine: Engine
    store: JobStore
    blobs: BlobStore
    queue: JobQueue

    def close(self) -> None:
        self.queue.close()
        self.engine.dispose()


def build_worker(settings: Settings, worker_id: str, *, migrate: bool = True) -> WorkerParts:
    """The parts of worker process ``worker_id`` (its name with a broker, too).
    ``migrate=False``: the database's schema is known to be current (a pool's supervisor
    opened it, migrated, before starting this worker)."""
    engine, store, blobs = _open_stores(settings, migrate=migrate)
    return WorkerParts(engine, store, blobs, open_queue(settings, store, consumer=worker_id))


def _open_stores(settings: Settings, *, migrate: bool = True) -> tuple[Engine, JobStore, BlobStore]:
    """The database (migrated) with the job store over it, and the blob store."""
    engine = open_engine(settings.resolved_database_url(), migrate=migrate)
    store = JobStore(engine, sequential=settings.sequential)
    blobs = open_blobs(settings.resolved_storage_url(), **settings.blob_options())
    return engine, store, blobs
