"""A job as the service sees it: one row of state."""

from __future__ import annotations

from dataclasses import dataclass, field

from darkroom.jobs.records import JobSpec, OutputRecord, SourceFactsRecord, SourceRef
from darkroom.jobs.status import JobStatus


@dataclass
class Job:
    id: str
    status: JobStatus
    created_at: float
    updated_at: float
    available_at: float
    spec: JobSpec
    sources: list[SourceRef]
    attempts: int = 0
    max_attempts: int = 3
    progress: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    source_facts: list[SourceFactsRecord] | None = None  # by source, as far as probed
    outputs: list[OutputRecord] | None = None
    error_code: str | None = None
    error_message: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    request_hash: str | None = None
    webhook_url: str | None = None
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    artifacts_deleted: bool = False
    retention_s: int | None = None
    expires_at: float | None = None
    expired_at: float | None = None
    effects: list[str] = field(default_factory=list)  # what its outcome causes (jobs/effects)
    owner: str | None = None  # the API key that submitted it (DARKROOM_AUTH=keys)

    def output(self, name: str) -> OutputRecord | None:
        for out in self.outputs or []:
            if out["name"] == name:
                return out.copy()
        return None


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    more: bool  # jobs beyond the last of this page match too


@dataclass(frozen=True)
class JobFilter:
    status: JobStatus | None = None
    created_after: float | None = None
    created_before: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    owner: str | None = None  # only the jobs this API key submitted; None: anyone's
