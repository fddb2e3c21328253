"""Every figure darkroom records, named ``darkroom_*`` (docs/operations.md, "Metrics").

Each has at least one label: a labelled figure keeps no value until first recorded, so
the API process can still switch to the shared folder (directory.py) after this import."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# seconds: from a thumbnail of a small picture to a large job's many outputs
_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# seconds: a job taken at once to one left waiting behind a long queue
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

JOBS_SUBMITTED = Counter(
    "darkroom_jobs_submitted",
    "Jobs queued (idempotent replays not counted), by the kind of their first source.",
    ["source"],
)
JOBS_FINISHED = Counter(
    "darkroom_jobs_finished",
    "Attempts ended, by what became of the job (succeeded, failed, retrying, discarded) "
    "and the error code of a failure.",
    ["status", "error_code"],
)
JOB_DURATION = Histogram(
    "darkroom_job_duration_seconds",
    "Time one attempt at a job took in a worker, by its outcome.",
    ["status"],
    buckets=_DURATION_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "darkroom_job_queue_wait_seconds",
    "Time a job waited between becoming available and a worker taking it.",
    ["attempt"],
    buckets=_WAIT_BUCKETS,
)
RENDER_TIME = Histogram(
    "darkroom_output_render_seconds",
    "Time rendering one output in one format took: its equal share of the render of all "
    "of a source's outputs, decode included.",
    ["op", "format"],
    buckets=_DURATION_BUCKETS,
)
SOURCE_BYTES = Counter(
    "darkroom_source_bytes",
    "Bytes of sources read by workers, each attempt, by kind of source.",
    ["kind"],
)
OUTPUT_BYTES = Counter(
    "darkroom_output_bytes",
    "Bytes of outputs stored, by format.",
    ["format"],
)
WEBHOOK_DELIVERIES = Counter(
    "darkroom_webhook_deliveries",
    "Webhook delivery attempts, by outcome (delivered, retrying, gave_up).",
    ["outcome"],
)
HTTP_REQUESTS = Counter(
    "darkroom_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "darkroom_http_request_duration_seconds",
    "Time to answer an HTTP request, until its last body byte was sent.",
    ["method", "route"],
    buckets=_DURATION_BUCKETS,
)
