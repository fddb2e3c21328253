"""What builds the body of a delivery: (event, job, link base) -> bytes. darkroom's own is
in darkroom/api/webhook_body.py; a drop-in dialect may have its system's, or None for
darkroom's own."""

from __future__ import annotations

from collections.abc import Callable

from darkroom.jobs.model import Job

BodyBuilder = Callable[[str, Job, str], bytes | None]
DefaultBodyBuilder = Callable[[str, Job, str], bytes]
