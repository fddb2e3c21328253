"""What the service's parts call to record a figure; each a line at its call site."""

from __future__ import annotations

from darkroom.metrics.instruments import (
    HTTP_DURATION,
    HTTP_REQUESTS,
    JOB_DURATION,
    JOBS_FINISHED,
    JOBS_SUBMITTED,
    OUTPUT_BYTES,
    QUEUE_WAIT,
    RENDER_TIME,
    SOURCE_BYTES,
    WEBHOOK_DELIVERIES,
)


def job_submitted(source_kind: str) -> None:
    JOBS_SUBMITTED.labels(source_kind).inc()


def job_taken(available_at: float, attempt: int, now: float) -> None:
    QUEUE_WAIT.labels("first" if attempt <= 1 else "retry").observe(max(0.0, now - available_at))


def job_finished(status: str, error_code: str = "", duration_s: float | None = None) -> None:
    """``status``: succeeded, failed, retrying or discarded; ``duration_s``: the attempt's
    time in the worker, where it ran in one."""
    JOBS_FINISHED.labels(status, error_code).inc()
    if duration_s is not None:
        JOB_DURATION.labels(status).observe(max(0.0, duration_s))


def source_read(kind: str, size: int) -> None:
    SOURCE_BYTES.labels(kind).inc(size)


def output_made(op: str, fmt: str, seconds: float, size: int) -> None:
    """``seconds``: its share of the render that made it (outputs of one source share one
    decode, and are made in the order that suits it, not one after another)."""
    RENDER_TIME.labels(op, fmt).observe(seconds)
    OUTPUT_BYTES.labels(fmt).inc(size)


def webhook_attempted(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def request_answered(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)
