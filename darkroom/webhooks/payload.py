"""The body of a delivery: the event, and the job as GET /v1/jobs/{id} shows it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from darkroom.api.schemas import job_out
from darkroom.jobs.model import Job

# Another body for some jobs (a drop-in dialect's): (event, job, link base) -> bytes, or
# None for darkroom's own.
BodyBuilder = Callable[[str, Job, str], bytes | None]


def delivery_body(event: str, job: Job, link_base: str) -> bytes:
    data = job_out(job, link_base, None).model_dump(mode="json", exclude={"webhook"})
    return orjson.dumps({"type": event, "timestamp": datetime.now(UTC).isoformat(), "data": data})
