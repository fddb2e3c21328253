"""Page cursors of GET /v1/jobs: the position after a page's last job, opaque to clients."""

from __future__ import annotations

import base64
import json

from darkroom.jobs.errors import InvalidRequest
from darkroom.jobs.model import Job


def encode_cursor(last: Job) -> str:
    raw = json.dumps([last.created_at, last.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """(created_at, id) of the job a page ended with; InvalidRequest if it is no cursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, job_id = json.loads(base64.urlsafe_b64decode(padded))
        return float(created_at), str(job_id)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("cursor is not valid", code="invalid_cursor") from exc
