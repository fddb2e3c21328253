"""The workers table: which worker processes live, as their heartbeats say."""

from __future__ import annotations

import time

from sqlalchemy import (
    Engine,
    delete,
    func,
    insert,
    select,
)

from darkroom.store.tables import workers


class WorkerRegistry:
    """Registered workers and their last heartbeat."""

    engine: Engine
    reader: Engine

    def register_worker(self, worker_id: str, hostname: str, pid: int) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                insert(workers).values(
                    id=worker_id, hostname=hostname, pid=pid, started_at=now, last_seen=now
                )
            )

    def unregister_worker(self, worker_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(workers).where(workers.c.id == worker_id))

    def workers_alive(self, within_s: float) -> int:
        cutoff = time.time() - within_s
        with self.reader.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(workers).where(workers.c.last_seen >= cutoff)
                ).scalar_one()
            )

    def prune_workers(self, older_than_s: float) -> None:
        cutoff = time.time() - older_than_s
        with self.engine.begin() as conn:
            conn.execute(delete(workers).where(workers.c.last_seen < cutoff))
