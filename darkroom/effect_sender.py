"""Carries out job effects (jobs/effects.py) from a few threads of any darkroom process,
through the same outbox loop, lease and backoff as webhook deliveries. A handler is named
by the effect (a dialect's name) and must leave the same result when run twice: an attempt
whose sender dies before recording it is made again once its lease runs out."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from darkroom.jobs.effects import Effect, EffectFailed, EffectHandler
from darkroom.outbox import OutboxLoop
from darkroom.store import JobStore
from darkroom.store.effects import EffectStore
from darkroom.webhooks.sender import WebhookSettings

log = logging.getLogger("darkroom.effects")

# An effect is its system's record of the job: worth trying longer than a webhook.
EFFECT_ATTEMPTS = 10


class EffectSender:
    def __init__(
        self,
        settings: WebhookSettings,
        jobs: JobStore,
        effects: EffectStore,
        handlers: Mapping[str, EffectHandler],
        *,
        owner: str,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.effects = effects
        self.handlers = dict(handlers)
        self.owner = owner
        self.lease_s = settings.lease_s
        self.loop = OutboxLoop(
            "effects",
            lambda limit: effects.claim_due(
                owner, list(self.handlers), limit=limit, lease_s=self.lease_s
            ),
            self.send,
            concurrency=settings.concurrency,
            poll_s=settings.poll_s,
            stop_timeout_s=self.lease_s,
        )

    def start(self) -> None:
        if self.handlers:
            self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def send(self, effect: Effect) -> None:
        """One attempt at one effect, recorded whatever happens."""
        fields = {"job_id": effect.job_id, "effect": effect.effect, "attempt": effect.attempts + 1}
        permanent = False
        try:
            self._carry_out(effect)
            error = None
        except EffectFailed as exc:
            error, permanent = exc.message, exc.permanent
        except Exception as exc:  # a bug must not lose the effect
            log.exception("effect failed unexpectedly", extra=fields)
            error = f"internal error: {type(exc).__name__}: {exc}"
        retry_at = None
        if error is not None and not permanent and effect.attempts + 1 < EFFECT_ATTEMPTS:
            retry_at = time.time() + self.settings.backoff.after(effect.attempts + 1)
        self.effects.record_attempt(effect, self.owner, error=error, retry_at=retry_at)
        if error is None:
            log.info("effect carried out", extra=fields)
        else:
            final = "" if retry_at else "; giving up"
            log.warning(f"effect failed: {error}{final}", extra=fields)

    def _carry_out(self, effect: Effect) -> None:
        handler = self.handlers[effect.effect]
        job = self.jobs.get(effect.job_id)
        if job is None:
            raise EffectFailed("the job no longer exists", permanent=True)
        if job.status.value != effect.status:
            raise EffectFailed(
                f"the job is {job.status.value} now, not {effect.status}", permanent=True
            )
        handler(job)
