"""A job's webhook delivery, as the service and the API see it."""

from __future__ import annotations

from dataclasses import dataclass

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
EVENT_SUCCEEDED, EVENT_FAILED = "job.succeeded", "job.failed"


@dataclass(frozen=True)
class Delivery:
    job_id: str
    message_id: str  # the webhook-id header, the same on every retry
    event: str
    url: str
    state: str
    attempts: int
    next_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    created_at: float
    last_attempt_at: float | None
    delivered_at: float | None
