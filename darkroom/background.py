"""What every darkroom process runs beside its main work: the webhook sender and the
retention sweeper. API processes and `darkroom worker` processes both start it, so any
deployment shape delivers webhooks and expires jobs."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence

from sqlalchemy import Engine

from darkroom.blobs import BlobStore
from darkroom.config import Settings
from darkroom.dialects.base import Service
from darkroom.outbound import AllowList, OutboundGuard
from darkroom.store import JobStore
from darkroom.store.webhooks import WebhookStore
from darkroom.sweeper import RetentionSweeper
from darkroom.webhooks.payload import BodyBuilder
from darkroom.webhooks.sender import WebhookSender


class Background:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        blobs: BlobStore,
        webhook_bodies: Mapping[str, BodyBuilder] | None = None,
        services: Sequence[Service] = (),
    ) -> None:
        """``services``: more to start and stop with these (a dialect's consumer)."""
        self.services = list(services)
        store = JobStore(engine)
        self.sender = WebhookSender(
            settings,
            store,
            WebhookStore(engine),
            OutboundGuard(AllowList.parse(settings.outbound_allow)),
            owner=f"{socket.gethostname()}-{os.getpid()}",
            bodies=webhook_bodies,
        )
        self.sweeper = RetentionSweeper(store, blobs, interval_s=settings.sweep_interval_s)

    def start(self) -> None:
        self.sender.start()
        self.sweeper.start()
        for service in self.services:
            service.start()

    def stop(self) -> None:
        for service in self.services:
            service.stop()
        self.sweeper.stop()
        self.sender.stop()
