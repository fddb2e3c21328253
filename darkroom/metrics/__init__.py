"""Prometheus figures (docs/operations.md, "Metrics"): recorded by every process of one
darkroom into a shared folder (directory.py), served by the API at /metrics."""

from darkroom.metrics.directory import ensure_directory, process_dead
from darkroom.metrics.record import (
    job_finished,
    job_submitted,
    job_taken,
    output_made,
    request_answered,
    source_read,
    webhook_attempted,
)

__all__ = [
    "ensure_directory",
    "job_finished",
    "job_submitted",
    "job_taken",
    "output_made",
    "process_dead",
    "request_answered",
    "source_read",
    "webhook_attempted",
]
