"""Typed views of the API's JSON answers (darkroom/api/schemas.py). Each keeps the JSON
it was read from in ``raw``, where fields this version does not know stay reachable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TERMINAL = frozenset({"succeeded", "failed", "canceled"})

Json = Mapping[str, Any]


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _stored(data: Json) -> dict[str, Any]:
    """The fields an output and each of its formats share: the file stored and its URL."""
    given = {name: data[name] for name in ("format", "width", "height", "bytes", "url")}
    return {**given, "frames": data.get("frames", 1), "quality": data.get("quality")}


@dataclass(frozen=True)
class JobError:
    code: str
    message: str


@dataclass(frozen=True)
class Crop:
    """The region a cover output cut out, in source pixels as displayed."""

    x: int
    y: int
    width: int
    height: int
    method: str
    confidence: float | None


@dataclass(frozen=True)
class OutputFormat:
    """One of the formats an output asking for several (``formats``) was stored in;
    ``url`` serves that one."""

    format: str
    width: int
    height: int
    frames: int
    bytes: int
    url: str
    quality: int | None

    @classmethod
    def from_json(cls, data: Json) -> OutputFormat:
        return cls(**_stored(data))


@dataclass(frozen=True)
class Output:
    """One result of a job. ``url`` is where it is served (signed under DARKROOM_AUTH=keys);
    ``source`` is the index of the source it was made from (None for a pair cover).
    ``formats``: for an output asking for several, each format stored, in the order asked
    (the output's own ``format`` and sizes are the first's; its ``url`` serves the best one
    the request's Accept header allows); None otherwise."""

    name: str
    source: int | None
    op: str
    format: str
    width: int
    height: int
    frames: int
    bytes: int
    url: str
    quality: int | None
    crop: Crop | None
    pair: Json | None
    formats: list[OutputFormat] | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> Output:
        crop = data.get("crop")
        formats = data.get("formats")
        return cls(
            name=data["name"],
            source=data.get("source"),
            op=data["op"],
            **_stored(data),
            crop=Crop(**crop) if crop else None,
            pair=data.get("pair"),
            formats=[OutputFormat.from_json(f) for f in formats] if formats else None,
            raw=data,
        )


@dataclass(frozen=True)
class SourceFacts:
    """A job's source as given (``kind``: upload, url or path) and as probed."""

    kind: str
    filename: str | None
    url: str | None
    format: str | None
    width: int | None
    height: int | None
    orientation: int | None
    has_icc_profile: bool | None
    frames: int | None
    bytes: int | None
    sha256: str | None
    blurhash: str | None
    thumbhash: str | None
    dominant_color: str | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> SourceFacts:
        names = [f for f in cls.__dataclass_fields__ if f not in ("kind", "raw")]
        return cls(kind=data["kind"], raw=data, **{name: data.get(name) for name in names})


@dataclass(frozen=True)
class WebhookState:
    """Where the job's webhook delivery stands (``state``: waiting, pending, delivered or
    failed; None without a webhook_url)."""

    enabled: bool
    url: str | None
    state: str | None
    delivered: bool
    message_id: str | None
    attempts: int
    last_status_code: int | None
    last_error: str | None
    scheduled_at: datetime | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def from_json(cls, data: Json) -> WebhookState:
        return cls(
            enabled=data.get("enabled", False),
            url=data.get("url"),
            state=data.get("state"),
            delivered=data.get("delivered", False),
            message_id=data.get("message_id"),
            attempts=data.get("attempts", 0),
            last_status_code=data.get("last_status_code"),
            last_error=data.get("last_error"),
            scheduled_at=_when(data.get("scheduled_at")),
            last_attempt_at=_when(data.get("last_attempt_at")),
            next_attempt_at=_when(data.get("next_attempt_at")),
            delivered_at=_when(data.get("delivered_at")),
        )


@dataclass(frozen=True)
class Job:
    """A job as the API showed it. ``status``: queued, processing, succeeded, failed or
    canceled; ``output_links`` maps each planned output to where it will be served."""

    id: str
    status: str
    progress: int
    attempts: int
    max_attempts: int
    queue_position: int | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: JobError | None
    outputs: list[Output]
    sources: list[SourceFacts]
    labels: dict[str, str]
    idempotency_key: str | None
    webhook_url: str | None
    artifacts_deleted: bool
    retention_s: int | None
    expires_at: datetime | None
    webhook: WebhookState
    self_url: str
    output_links: dict[str, str]
    raw: Json = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def output(self, name: str = "default") -> Output:
        """The finished output named ``name``; KeyError if the job has none by that name."""
        for output in self.outputs:
            if output.name == name:
                return output
        raise KeyError(f"job {self.id} has no output named {name!r}")

    @classmethod
    def from_json(cls, data: Json) -> Job:
        error = data.get("error")
        links = data.get("links") or {}
        created = datetime.fromisoformat(data["created_at"])
        return cls(
            id=data["id"],
            status=data["status"],
            progress=data.get("progress", 0),
            attempts=data.get("attempts", 0),
            max_attempts=data.get("max_attempts", 0),
            queue_position=data.get("queue_position"),
            created_at=created,
            updated_at=_when(data.get("updated_at")) or created,
            started_at=_when(data.get("started_at")),
            finished_at=_when(data.get("finished_at")),
            error=JobError(error["code"], error["message"]) if error else None,
            outputs=[Output.from_json(o) for o in data.get("outputs") or []],
            sources=[SourceFacts.from_json(s) for s in data.get("sources") or []],
            labels=dict(data.get("labels") or {}),
            idempotency_key=data.get("idempotency_key"),
            webhook_url=data.get("webhook_url"),
            artifacts_deleted=data.get("artifacts_deleted", False),
            retention_s=data.get("retention_s"),
            expires_at=_when(data.get("expires_at")),
            webhook=WebhookState.from_json(data.get("webhook") or {}),
            self_url=links.get("self", ""),
            output_links=dict(links.get("outputs") or {}),
            raw=data,
        )


@dataclass(frozen=True)
class JobPage:
    """One page of GET /v1/jobs, newest first; pass ``next_cursor`` on for the next."""

    jobs: list[Job]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: Json) -> JobPage:
        return cls([Job.from_json(j) for j in data["jobs"]], data.get("next_cursor"))
