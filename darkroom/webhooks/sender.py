"""Sends due webhook deliveries from a few threads of any darkroom process.

Deliveries are outbox rows (store/webhooks.py): the outbox loop (darkroom/outbox.py)
claims due ones under a lease; this POSTs each and records the attempt. Work is never held
up by a slow receiver: sending happens here, beside the workers, never in them. A delivery
whose sender died is taken over when its lease runs out; one pending at shutdown is sent
by the next process to start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from darkroom import metrics
from darkroom.jobs.delivery import Delivery
from darkroom.jobs.retry import Backoff
from darkroom.outbound import (
    ForbiddenDestination,
    OutboundGuard,
    Unresolvable,
    deadline,
    outbound_client,
)
from darkroom.outbox import OutboxLoop
from darkroom.store import JobStore
from darkroom.store.webhooks import WebhookStore
from darkroom.webhooks.body import BodyBuilder, DefaultBodyBuilder
from darkroom.webhooks.signing import signature_headers

log = logging.getLogger("darkroom.webhooks")


@dataclass(frozen=True)
class WebhookSettings:
    """How deliveries are sent: ``concurrency`` at a time, due ones looked for every
    ``poll_s``, each POST given ``timeout_s`` in all, a failed one tried again after ``backoff``
    until ``attempts`` were made, signed with ``secret`` when set, with links in bodies
    made from ``link_base``. Job effects (effect_sender.py) share its loop, lease and
    backoff."""

    timeout_s: float
    attempts: int
    backoff: Backoff
    concurrency: int
    poll_s: float
    secret: str | None
    link_base: str

    @property
    def lease_s(self) -> float:
        """How long a claimed row is its sender's: two timeouts and a margin."""
        return self.timeout_s * 2 + 10


class Attempt:
    """What one POST came to: a status code, an error, and whether to try again."""

    def __init__(self, status_code: int | None, error: str | None, permanent: bool = False):
        self.status_code = status_code
        self.error = error
        self.permanent = permanent


class WebhookSender:
    def __init__(
        self,
        settings: WebhookSettings,
        jobs: JobStore,
        deliveries: WebhookStore,
        guard: OutboundGuard,
        *,
        owner: str,
        default_body: DefaultBodyBuilder,
        bodies: Mapping[str, BodyBuilder] | None = None,
    ) -> None:
        """``default_body`` builds darkroom's own body; ``bodies``, by the value of a job's
        ``dialect`` label, what builds its body instead."""
        self.settings = settings
        self.default_body = default_body
        self.bodies = bodies or {}
        self.jobs = jobs
        self.deliveries = deliveries
        self.guard = guard
        self.owner = owner
        self.client = outbound_client()
        self.lease_s = settings.lease_s
        self.loop = OutboxLoop(
            "webhooks",
            lambda limit: deliveries.claim_due(owner, limit=limit, lease_s=self.lease_s),
            self.send,
            concurrency=settings.concurrency,
            poll_s=settings.poll_s,
            stop_timeout_s=settings.timeout_s + 5,
        )

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        """Stop claiming; let deliveries in flight finish (each within its timeout)."""
        self.loop.stop()
        self.client.close()

    def send(self, delivery: Delivery) -> None:
        """One attempt at one delivery, recorded whatever happens."""
        try:
            attempt = self._post(delivery)
        except Exception as exc:  # a bug must not lose the delivery
            log.exception("webhook attempt failed unexpectedly", extra={"job_id": delivery.job_id})
            attempt = Attempt(None, f"internal error: {type(exc).__name__}: {exc}")
        attempts = delivery.attempts + 1
        retry_at = None
        if attempt.error is not None and not attempt.permanent:
            retry_at = self._retry_at(attempts)
        self.deliveries.record_attempt(
            delivery,
            self.owner,
            status_code=attempt.status_code,
            error=attempt.error,
            retry_at=retry_at,
        )
        fields = {"job_id": delivery.job_id, "attempt": attempts, "status": attempt.status_code}
        metrics.webhook_attempted(
            "delivered" if attempt.error is None else "retrying" if retry_at else "gave_up"
        )
        if attempt.error is None:
            log.info("webhook delivered", extra=fields)
        else:
            final = "" if retry_at else "; giving up"
            log.warning(f"webhook attempt failed: {attempt.error}{final}", extra=fields)

    def _retry_at(self, attempts: int) -> float | None:
        if attempts >= self.settings.attempts:
            return None
        return time.time() + self.settings.backoff.after(attempts)

    def _post(self, delivery: Delivery) -> Attempt:
        job = self.jobs.get(delivery.job_id)
        if job is None:
            return Attempt(None, "the job no longer exists", permanent=True)
        try:
            destination = self.guard.check(delivery.url)
        except Unresolvable as exc:
            return Attempt(None, exc.message)
        except ForbiddenDestination as exc:
            return Attempt(None, f"{exc.code}: {exc.message}", permanent=True)
        link_base = self.settings.link_base
        build = self.bodies.get(job.labels.get("dialect", ""))
        body = build(delivery.event, job, link_base) if build is not None else None
        if body is None:
            body = self.default_body(delivery.event, job, link_base)
        headers = {"content-type": "application/json", **destination.headers}
        timestamp = int(time.time())
        if self.settings.secret:
            headers |= signature_headers(self.settings.secret, delivery.message_id, timestamp, body)
        else:
            headers |= {"webhook-id": delivery.message_id, "webhook-timestamp": str(timestamp)}
        try:
            # Streamed, and the body never read: only the status matters, and a receiver
            # cannot make darkroom hold an answer of any size. The timeout is a deadline for
            # the whole POST: a receiver trickling its answer cannot hold the thread longer.
            with (
                deadline(self.settings.timeout_s),
                self.client.stream(
                    "POST",
                    destination.url,
                    content=body,
                    headers=headers,
                    extensions=destination.extensions,
                    timeout=self.settings.timeout_s,
                    follow_redirects=False,
                ) as response,
            ):
                status = response.status_code
        except httpx.TimeoutException:
            return Attempt(None, f"timed out after {self.settings.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return Attempt(None, f"connection failed: {type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return Attempt(status, None)
        return Attempt(status, f"receiver answered {status}")
