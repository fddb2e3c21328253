"""The text Prometheus reads: every process's recorded figures, and the queue's state
read from the store at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from darkroom.jobs.status import JobStatus
from darkroom.metrics.directory import shared_directory
from darkroom.store import Stats


class QueueFigures(Collector):
    """Gauges from one read of the store's job counts (JobStore.stats)."""

    def __init__(self, stats: Callable[[], Stats]) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        stats = self._stats()
        per_status = GaugeMetricFamily("darkroom_jobs", "Jobs kept, by status.", labels=["status"])
        for status, count in stats.jobs.items():
            per_status.add_metric([status], count)
        yield per_status
        yield GaugeMetricFamily(
            "darkroom_queue_depth", "Jobs queued, waiting for a worker.", value=stats.queue_depth
        )
        yield GaugeMetricFamily(
            "darkroom_queue_oldest_age_seconds",
            "Age of the oldest queued job; 0 when none is queued.",
            value=stats.oldest_queued_age_s or 0.0,
        )
        yield GaugeMetricFamily(
            "darkroom_workers_alive",
            "Worker processes that reported within a lease, on every machine.",
            value=stats.workers_alive,
        )
        yield GaugeMetricFamily(
            "darkroom_workers_busy",
            "Workers running a job now (jobs processing: a worker runs one at a time).",
            value=stats.jobs.get(JobStatus.PROCESSING.value, 0),
        )


def exposition(stats: Callable[[], Stats]) -> bytes:
    registry = CollectorRegistry()
    registry.register(QueueFigures(stats))
    folder = shared_directory()
    if folder is None:  # this process alone records figures
        return generate_latest(REGISTRY) + generate_latest(registry)
    MultiProcessCollector(registry, str(folder))  # type: ignore[no-untyped-call]
    return generate_latest(registry)
