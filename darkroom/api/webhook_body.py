"""darkroom's own webhook body: the event, and the job as GET /v1/jobs/{id} shows it.
The webhook sender is handed it (darkroom/background.py), so webhooks know no API."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from darkroom.api.schemas import job_out
from darkroom.jobs.model import Job


def delivery_body(event: str, job: Job, link_base: str) -> bytes:
    data = job_out(job, link_base, None).model_dump(mode="json", exclude={"webhook"})
    return orjson.dumps({"type": event, "timestamp": datetime.now(UTC).isoformat(), "data": data})
