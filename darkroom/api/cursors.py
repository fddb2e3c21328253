"""Page cursors of GET /v1/jobs: the position after a page's last job, opaque to clients."""

from __future__ import annotations

import base64
import json
import math

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
        position = float(created_at)
        if not math.isfinite(position) or not isinstance(job_id, str):
            raise ValueError("not a position a page ended at")
        return position, job_id
    # OverflowError: an integer past any float; RecursionError: JSON nested too deep
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise InvalidRequest("cursor is not valid", code="invalid_cursor") from exc
