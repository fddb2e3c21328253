"""The outbox: what must happen once a job has an outcome, as rows written in the same
transaction as that outcome, then claimed under a lease, attempted and recorded by a
sender in any darkroom process (darkroom/outbox). Two tables are outboxes: webhook
deliveries, and dialect effects (a record marked COMPLETED, a listing image stored).

Every outbox table has the columns ``state``, ``attempts``, ``next_attempt_at``,
``lease_owner``, ``lease_expires_at``, ``last_error`` and ``last_attempt_at``; its rows
are named by its primary key."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Table, and_, or_, select, true, tuple_, update
from sqlalchemy.engine import RowMapping

from darkroom.jobs.delivery import DELIVERED, FAILED, PENDING
from darkroom.store.database import reader_of


class Outbox:
    def __init__(self, engine: Engine, table: Table, done_column: str) -> None:
        """``done_column``: the time the row's work was done (``delivered_at``)."""
        self.engine = engine
        self.reader = reader_of(engine)
        self.table = table
        self.key = list(table.primary_key.columns)
        self.key_names = tuple(column.name for column in self.key)
        self.done_column = done_column

    def claim_due(
        self, owner: str, *, limit: int, lease_s: float, where: Any = None
    ) -> list[RowMapping]:
        """Take up to ``limit`` rows that are due and not held by another sender (or whose
        sender's lease ran out), of those ``where`` selects."""
        t = self.table
        now = time.time()
        runnable = select(*self.key).where(
            true() if where is None else where,
            t.c.state == PENDING,
            t.c.next_attempt_at <= now,
            or_(t.c.lease_expires_at.is_(None), t.c.lease_expires_at < now),
        )
        # Asked every poll interval by every process: look before taking a write lock.
        with self.reader.connect() as conn:
            if conn.execute(runnable.limit(1)).first() is None:
                return []
        due = runnable.order_by(t.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
        key = self.key[0] if len(self.key) == 1 else tuple_(*self.key)
        with self.engine.begin() as conn:
            return list(
                conn.execute(
                    update(t)
                    .where(key.in_(due))
                    .values(lease_owner=owner, lease_expires_at=now + lease_s)
                    .returning(*t.c)
                )
                .mappings()
                .all()
            )

    def record_attempt(
        self,
        row: Mapping[str, Any],
        owner: str,
        *,
        error: str | None,
        retry_at: float | None,
        match: tuple[str, ...] = (),
        **values: Any,
    ) -> None:
        """Record one attempt at ``row``: done when ``error`` is None, else pending again at
        ``retry_at`` or failed for good; ``values`` are more columns to set. Ignored if
        another sender took the row over, or if it was replaced meanwhile (the columns
        ``match`` names differ from ``row``'s)."""
        t = self.table
        now = time.time()
        if error is None:
            outcome = {"state": DELIVERED, self.done_column: now, "next_attempt_at": None}
        elif retry_at is not None:
            outcome = {"state": PENDING, "next_attempt_at": retry_at}
        else:
            outcome = {"state": FAILED, "next_attempt_at": None}
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(
                    and_(*(t.c[name] == row[name] for name in (*self.key_names, *match))),
                    t.c.lease_owner == owner,
                )
                .values(
                    attempts=t.c.attempts + 1,
                    last_error=error,
                    last_attempt_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    **outcome,
                    **values,
                )
            )
