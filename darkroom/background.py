"""What every darkroom process runs beside its main work: the webhook sender, the effect
sender, the retention sweeper, and what the enabled dialects run (a queue consumer, a
batch processor: they only submit jobs). API processes and `darkroom worker` processes
both start it, so any deployment shape delivers webhooks, carries out effects and expires
jobs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from darkroom.api.webhook_body import delivery_body
from darkroom.compose import Parts, process_name
from darkroom.dialects.base import Service
from darkroom.effect_sender import EffectSender
from darkroom.jobs.effects import EffectHandler
from darkroom.outbound import AllowList, OutboundGuard
from darkroom.slices import webhook_settings
from darkroom.store.effects import EffectStore
from darkroom.store.webhooks import WebhookStore
from darkroom.sweeper import RetentionSweeper
from darkroom.webhooks.body import BodyBuilder
from darkroom.webhooks.sender import WebhookSender


class Background:
    def __init__(
        self,
        parts: Parts,
        webhook_bodies: Mapping[str, BodyBuilder] | None = None,
        effect_handlers: Mapping[str, EffectHandler] | None = None,
        services: Sequence[Service] = (),
    ) -> None:
        """``services``: more to start and stop with these (a dialect's consumer)."""
        settings = parts.settings
        webhooks = webhook_settings(settings)
        self.services = list(services)
        self.sender = WebhookSender(
            webhooks,
            parts.store,
            WebhookStore(parts.engine),
            OutboundGuard(AllowList.parse(settings.outbound_allow)),
            owner=process_name(),
            default_body=delivery_body,
            bodies=webhook_bodies,
        )
        self.effects = EffectSender(
            webhooks,
            parts.store,
            EffectStore(parts.engine),
            effect_handlers or {},
            owner=process_name(),
        )
        self.sweeper = RetentionSweeper(
            parts.store, parts.blobs, interval_s=settings.sweep_interval_s
        )

    def start(self) -> None:
        self.sender.start()
        self.effects.start()
        self.sweeper.start()
        for service in self.services:
            service.start()

    def stop(self) -> None:
        for service in self.services:
            service.stop()
        self.sweeper.stop()
        self.effects.stop()
        self.sender.stop()
