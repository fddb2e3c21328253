"""Webhook deliveries: scheduled in the transaction that finishes a job, then claimed,
retried and recorded by the webhook sender of any darkroom process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from sqlalchemy import Engine, and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping

from darkroom.jobs.delivery import PENDING, Delivery
from darkroom.store.database import reader_of
from darkroom.store.outbox import Outbox
from darkroom.store.tables import webhook_deliveries as deliveries


def _delivery(row: RowMapping) -> Delivery:
    return Delivery(**{name: row[name] for name in Delivery.__dataclass_fields__})


def schedule_deliveries(conn: Connection, finished: Sequence[tuple[str, str, str]]) -> None:
    """Queue a delivery for each (job id, webhook URL, event) that just finished, replacing
    the delivery of an earlier outcome (a failed job run again)."""
    if not finished:
        return
    now = time.time()
    conn.execute(delete(deliveries).where(deliveries.c.job_id.in_([f[0] for f in finished])))
    conn.execute(
        insert(deliveries),
        [
            {
                "job_id": job_id,
                "message_id": f"msg_{uuid.uuid4().hex}",
                "event": event,
                "url": url,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for job_id, url, event in finished
        ],
    )


class WebhookStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = reader_of(engine)
        self.outbox = Outbox(engine, deliveries, done_column="delivered_at")

    def get(self, job_id: str) -> Delivery | None:
        with self.reader.connect() as conn:
            row = (
                conn.execute(select(deliveries).where(deliveries.c.job_id == job_id))
                .mappings()
                .first()
            )
        return _delivery(row) if row else None

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Delivery]:
        if not job_ids:
            return {}
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(deliveries).where(deliveries.c.job_id.in_(list(job_ids)))
            ).mappings()
            return {row["job_id"]: _delivery(row) for row in rows}

    def schedule(self, job_id: str, url: str, event: str) -> None:
        """A delivery for a job that finished without one being made."""
        with self.engine.begin() as conn:
            schedule_deliveries(conn, [(job_id, url, event)])

    def claim_due(self, owner: str, *, limit: int, lease_s: float) -> list[Delivery]:
        """Take up to ``limit`` deliveries that are due and not being sent by another
        sender (or whose sender's lease ran out)."""
        return [_delivery(r) for r in self.outbox.claim_due(owner, limit=limit, lease_s=lease_s)]

    def record_attempt(
        self,
        delivery: Delivery,
        owner: str,
        *,
        status_code: int | None,
        error: str | None,
        retry_at: float | None,
    ) -> None:
        """Record one attempt: delivered when ``error`` is None, else pending again at
        ``retry_at`` or failed for good. Ignored if another sender took the delivery over,
        or if it was replaced meanwhile."""
        self.outbox.record_attempt(
            {"job_id": delivery.job_id, "message_id": delivery.message_id},
            owner,
            error=error,
            retry_at=retry_at,
            match=("message_id",),
            last_status_code=status_code,
        )

    def redeliver(self, job_id: str) -> Delivery | None:
        """Send the job's delivery again from its first attempt, with the same message id
        (receivers deduplicate on it). None when the job has no delivery."""
        now = time.time()
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    update(deliveries)
                    .where(
                        and_(
                            deliveries.c.job_id == job_id,
                            or_(
                                deliveries.c.state != PENDING,
                                deliveries.c.lease_expires_at.is_(None),
                            ),
                        )
                    )
                    .values(
                        state=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        lease_owner=None,
                        lease_expires_at=None,
                    )
                    .returning(*deliveries.c)
                )
                .mappings()
                .first()
            )
        return _delivery(row) if row else None
