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

import httpx

from darkroom.config import Settings
from darkroom.jobs.delivery import Delivery
from darkroom.jobs.retry import backoff_s
from darkroom.outbound import ForbiddenDestination, OutboundGuard, Unresolvable, outbound_client
from darkroom.outbox import OutboxLoop
from darkroom.store import JobStore
from darkroom.store.webhooks import WebhookStore
from darkroom.webhooks.body import BodyBuilder, DefaultBodyBuilder
from darkroom.webhooks.signing import signature_headers

log = logging.getLogger("darkroom.webhooks")


class Attempt:
    """What one POST came to: a status code, an error, and whether to try again."""

    def __init__(self, status_code: int | None, error: str | None, permanent: bool = False):
        self.status_code = status_code
        self.error = error
        self.permanent = permanent


class WebhookSender:
    def __init__(
        self,
        settings: Settings,
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
        self.lease_s = settings.webhook_timeout_s * 2 + 10
        self.loop = OutboxLoop(
            "webhooks",
            lambda limit: deliveries.claim_due(owner, limit=limit, lease_s=self.lease_s),
            self.send,
            concurrency=settings.webhook_concurrency,
            poll_s=settings.poll_interval_s,
            stop_timeout_s=settings.webhook_timeout_s + 5,
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
        if attempt.error is None:
            log.info("webhook delivered", extra=fields)
        else:
            final = "" if retry_at else "; giving up"
            log.warning(f"webhook attempt failed: {attempt.error}{final}", extra=fields)

    def _retry_at(self, attempts: int) -> float | None:
        if attempts >= self.settings.webhook_attempts:
            return None
        s = self.settings
        return time.time() + backoff_s(
            attempts, base_s=s.webhook_backoff_s, max_s=s.webhook_backoff_max_s
        )

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
        link_base = self.settings.link_base()
        build = self.bodies.get(job.labels.get("dialect", ""))
        body = build(delivery.event, job, link_base) if build is not None else None
        if body is None:
            body = self.default_body(delivery.event, job, link_base)
        headers = {"content-type": "application/json", **destination.headers}
        timestamp = int(time.time())
        if self.settings.webhook_secret:
            headers |= signature_headers(
                self.settings.webhook_secret, delivery.message_id, timestamp, body
            )
        else:
            headers |= {"webhook-id": delivery.message_id, "webhook-timestamp": str(timestamp)}
        try:
            # Streamed, and the body never read: only the status matters, and a receiver
            # cannot make darkroom hold an answer of any size.
            with self.client.stream(
                "POST",
                destination.url,
                content=body,
                headers=headers,
                extensions=destination.extensions,
                timeout=self.settings.webhook_timeout_s,
                follow_redirects=False,
            ) as response:
                status = response.status_code
        except httpx.TimeoutException:
            return Attempt(None, f"timed out after {self.settings.webhook_timeout_s:g} s")
        except httpx.HTTPError as exc:
            return Attempt(None, f"connection failed: {type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return Attempt(status, None)
        return Attempt(status, f"receiver answered {status}")
