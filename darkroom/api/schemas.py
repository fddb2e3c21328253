"""Response bodies of the native API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from darkroom.api.output_links import LinkSigner
from darkroom.jobs.delivery import DELIVERED, PENDING, Delivery
from darkroom.jobs.model import Job
from darkroom.jobs.records import FormatRecord, OutputRecord, SourceFactsRecord, SourceRef
from darkroom.jobs.spec import planned_output_names
from darkroom.jobs.status import JobStatus


def iso(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


class ErrorInfo(BaseModel):
    code: str
    message: str


class CropOut(BaseModel):
    x: int
    y: int
    width: int
    height: int
    method: str = Field(
        description="What placed it: the gravity given, or for auto and faces the method "
        "that decided (faces, objects, attention)."
    )
    confidence: float | None = Field(
        None,
        description="0..1 for attention, entropy, faces and objects; null for fixed gravities.",
    )


class PairPageOut(BaseModel):
    index: int = Field(description="The page's place among the job's sources (0 first)")
    score: float
    text_ratio: float = Field(description="Share of the page covered by text and bubbles")
    in_edge: bool = Field(description="Among the first or last skip_edges pages")
    box: dict[str, int] = Field(description="The portrait window used: x, y, width, height")
    text_source: str = Field(
        "glyphs",
        description="What measured text_ratio: glyphs (lettering found without a model), "
        "objects (the configured YOLO model's text classes) or none (fallback composer)",
    )


class PairOut(BaseModel):
    picked: list[PairPageOut] = Field(description="The left page, then the right one")
    candidates: list[PairPageOut] | None = Field(
        None, description="Every page, in order, when return_candidates was set"
    )
    fallback_used: bool = False
    warning: str | None = None


class OutputFormatOut(BaseModel):
    """One format an output asking for several (`formats`) was stored in."""

    format: str
    width: int
    height: int
    frames: int = 1
    bytes: int
    url: str = Field(description="The output in this format: its `url` with `format=`.")
    quality: int | None = None


class OutputOut(BaseModel):
    name: str
    source: int | None = Field(
        description="Index of the source this output was made from; null for a pair cover."
    )
    op: str
    format: str
    width: int
    height: int
    frames: int = 1
    bytes: int
    url: str
    quality: int | None = Field(
        None,
        description="JPEG, lossy WebP and AVIF: the quality encoded at; with `max_bytes`, "
        "the highest that fit.",
    )
    crop: CropOut | None = Field(
        None, description="Cover outputs: the region cut out, in source pixels as displayed."
    )
    pair: PairOut | None = Field(None, description="Pair covers: the pages picked, and why.")
    formats: list[OutputFormatOut] | None = Field(
        None,
        description="Outputs asking for several formats: each, in the order asked; the "
        "output's own `format`, sizes and `quality` are the first's. Its `url` serves the "
        "best one the request's `Accept` allows.",
    )


class SourceOut(BaseModel):
    kind: str = Field(description="upload, url or path")
    filename: str | None = None
    url: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    has_icc_profile: bool | None = None
    frames: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    blurhash: str | None = Field(
        None, description='With `"placeholders": true`: the picture as a BlurHash.'
    )
    thumbhash: str | None = Field(
        None, description='With `"placeholders": true`: the picture as a ThumbHash, base64.'
    )
    dominant_color: str | None = Field(
        None, description='With `"placeholders": true`: its most common colour, #rrggbb.'
    )


class JobLinks(BaseModel):
    self: str
    outputs: dict[str, str] = Field(
        description="Where each output will be served; filled in as the job finishes."
    )


class WebhookOut(BaseModel):
    enabled: bool = Field(description="Whether the job has a webhook_url.")
    url: str | None = None
    state: str | None = Field(
        None,
        description="waiting (the job has not finished), pending (being sent or retried), "
        "delivered or failed (out of attempts); null without a webhook",
    )
    delivered: bool = False
    message_id: str | None = Field(None, description="The webhook-id header, stable over retries")
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    scheduled_at: datetime | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


class JobOut(BaseModel):
    id: str
    status: JobStatus
    progress: int = Field(ge=0, le=100)
    attempts: int
    max_attempts: int
    queue_position: int | None = Field(None, description="1 = next to run; null unless queued")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: ErrorInfo | None
    outputs: list[OutputOut]
    sources: list[SourceOut]
    labels: dict[str, str]
    idempotency_key: str | None
    webhook_url: str | None
    artifacts_deleted: bool
    retention_s: int | None = Field(description="Seconds the job is kept after it finishes")
    expires_at: datetime | None = Field(description="When its outputs and record are deleted")
    webhook: WebhookOut
    links: JobLinks


class JobList(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None


class StatsOut(BaseModel):
    jobs: dict[str, int]
    queue_depth: int
    oldest_queued_age_s: float | None
    throughput_per_s: float = Field(description="Jobs succeeded per second over the last minute")
    succeeded_last_minute: int
    workers_alive: int


class HealthOut(BaseModel):
    status: str
    queue_depth: int
    workers_alive: int
    pool_size: int | None = Field(None, description="Workers this process runs, if any")


class ReadyOut(BaseModel):
    status: str
    checks: dict[str, str]


class PoolOut(BaseModel):
    size: int
    alive: int
    pids: list[int]


class PoolResize(BaseModel):
    workers: int = Field(ge=0, le=256)


def _without_key(record: FormatRecord) -> dict[str, object]:
    return {k: v for k, v in record.items() if k != "key"}


def _source_out(source: SourceRef, facts: SourceFactsRecord | None) -> SourceOut:
    kind = "upload" if source["kind"] == "blob" else source["kind"]
    probed: Mapping[str, object] = facts or {}
    return SourceOut(
        kind=kind,
        filename=source["filename"],
        url=source["url"] if source["kind"] == "url" else None,
        **probed,
    )


def webhook_out(job: Job, delivery: Delivery | None) -> WebhookOut:
    if delivery is None:
        enabled = job.webhook_url is not None
        return WebhookOut(
            enabled=enabled, url=job.webhook_url, state="waiting" if enabled else None
        )
    return WebhookOut(
        enabled=True,
        url=delivery.url,
        state=delivery.state,
        delivered=delivery.state == DELIVERED,
        message_id=delivery.message_id,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        scheduled_at=iso(delivery.created_at),
        last_attempt_at=iso(delivery.last_attempt_at),
        next_attempt_at=iso(delivery.next_attempt_at) if delivery.state == PENDING else None,
        delivered_at=iso(delivery.delivered_at),
    )


def job_out(
    job: Job,
    base_url: str,
    queue_position: int | None,
    delivery: Delivery | None = None,
    signer: LinkSigner | None = None,
) -> JobOut:
    """The job as the API shows it; with ``signer`` (DARKROOM_AUTH=keys), its output links
    are signed links that open the output without a key until they expire."""
    self_url = f"{base_url}/v1/jobs/{job.id}"

    def output_url(name: str) -> str:
        url = f"{self_url}/outputs/{name}"
        return f"{url}?{signer.query(job.id, name)}" if signer is not None else url

    def formats_out(output: OutputRecord) -> list[OutputFormatOut] | None:
        url = output_url(output["name"])
        joint = "&" if "?" in url else "?"
        return [
            OutputFormatOut(url=f"{url}{joint}format={f['format']}", **_without_key(f))
            for f in output.get("formats") or []
        ] or None

    facts = job.source_facts or []
    outputs = [
        OutputOut(
            url=output_url(o["name"]),
            formats=formats_out(o),
            **{k: v for k, v in o.items() if k not in ("key", "formats")},
        )
        for o in job.outputs or []
    ]
    planned = planned_output_names(job.spec, len(job.sources))
    return JobOut(
        id=job.id,
        status=job.status,
        progress=job.progress,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        queue_position=queue_position,
        created_at=datetime.fromtimestamp(job.created_at, UTC),
        updated_at=datetime.fromtimestamp(job.updated_at, UTC),
        started_at=iso(job.started_at),
        finished_at=iso(job.finished_at),
        error=ErrorInfo(code=job.error_code, message=job.error_message or "")
        if job.error_code and job.status is not JobStatus.SUCCEEDED
        else None,
        outputs=outputs,
        sources=[
            _source_out(s, facts[i] if i < len(facts) else None) for i, s in enumerate(job.sources)
        ],
        labels=job.labels,
        idempotency_key=job.idempotency_key,
        webhook_url=job.webhook_url,
        artifacts_deleted=job.artifacts_deleted,
        retention_s=job.retention_s,
        expires_at=iso(job.expires_at),
        webhook=webhook_out(job, delivery),
        links=JobLinks(self=self_url, outputs={n: output_url(n) for n in planned}),
    )
