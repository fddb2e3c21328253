"""Job effects (jobs/effects.py): scheduled in the transaction that finishes a job, then
claimed, retried and recorded by the effect sender of any darkroom process."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Engine, and_, delete, insert, select
from sqlalchemy.engine import Connection, RowMapping

from darkroom.jobs.delivery import PENDING
from darkroom.jobs.effects import Effect
from darkroom.store.database import reader_of
from darkroom.store.outbox import Outbox
from darkroom.store.tables import job_effects


def _effect(row: RowMapping) -> Effect:
    return Effect(**{name: row[name] for name in Effect.__dataclass_fields__})


def schedule_effects(conn: Connection, finished: Sequence[tuple[str, Sequence[str], str]]) -> None:
    """Schedule the effects of each (job id, effect names, status) that just finished,
    replacing those of an earlier outcome (a failed job run again)."""
    rows = [(job_id, name, status) for job_id, names, status in finished for name in names or ()]
    if not rows:
        return
    now = time.time()
    conn.execute(delete(job_effects).where(job_effects.c.job_id.in_({r[0] for r in rows})))
    conn.execute(
        insert(job_effects),
        [
            {
                "job_id": job_id,
                "effect": name,
                "status": status,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for job_id, name, status in rows
        ],
    )


class EffectStore:
    def __init__(self, engine: Engine) -> None:
        self.reader = reader_of(engine)
        self.outbox = Outbox(engine, job_effects, done_column="done_at")

    def of_job(self, job_id: str) -> list[Effect]:
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(job_effects)
                .where(job_effects.c.job_id == job_id)
                .order_by(job_effects.c.effect)
            ).mappings()
            return [_effect(row) for row in rows]

    def unfinished(self, job_ids: Sequence[str]) -> set[str]:
        """Those of these jobs with an effect not yet carried out (or given up on)."""
        if not job_ids:
            return set()
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(job_effects.c.job_id).where(
                    and_(job_effects.c.job_id.in_(list(job_ids)), job_effects.c.state == PENDING)
                )
            ).all()
        return {row[0] for row in rows}

    def claim_due(
        self, owner: str, names: Sequence[str], *, limit: int, lease_s: float
    ) -> list[Effect]:
        """Due effects among those named ``names`` (what this process has handlers for)."""
        rows = self.outbox.claim_due(
            owner, limit=limit, lease_s=lease_s, where=job_effects.c.effect.in_(list(names))
        )
        return [_effect(r) for r in rows]

    def record_attempt(
        self, effect: Effect, owner: str, *, error: str | None, retry_at: float | None
    ) -> None:
        self.outbox.record_attempt(
            {"job_id": effect.job_id, "effect": effect.effect, "status": effect.status},
            owner,
            error=error,
            retry_at=retry_at,
            match=("status",),
        )


__all__ = ["EffectStore", "schedule_effects"]
