"""What the client raises: the API's errors with their code, and waits that ran out."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from darkroom.client.models import Job


class DarkroomError(Exception):
    """Anything the client raises on purpose."""


class ApiError(DarkroomError):
    """An error answer of the API: its HTTP ``status``, the API's ``code`` (docs/api.md),
    ``message`` and ``details``, and on 429 and 503 ``retry_after``: the seconds the API
    asked to wait before trying again, when it said."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if status == 0 else f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after


class Unreachable(ApiError):
    """No answer came: the connection failed or timed out (``status`` 0)."""

    def __init__(self, base_url: str, exc: httpx.TransportError) -> None:
        code = "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
        super().__init__(0, code, f"cannot reach darkroom at {base_url}: {exc or type(exc)}")


class WaitTimeout(DarkroomError, TimeoutError):
    """The job had not finished when the wait ran out; ``job`` is how it was last seen."""

    def __init__(self, job: Job, timeout_s: float) -> None:
        super().__init__(f"job {job.id} is still {job.status} after {timeout_s:g} s")
        self.job = job


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_of(resp: httpx.Response) -> ApiError:
    """The ApiError an error answer stands for, whatever its body."""
    after = retry_after(resp.headers.get("retry-after"))
    try:
        error = resp.json()["error"]
        return ApiError(
            resp.status_code, error["code"], error["message"], error.get("details"), after
        )
    except (ValueError, KeyError, TypeError):
        text = resp.text[:200] if resp.headers.get("content-type", "").startswith("text") else ""
        return ApiError(resp.status_code, "http_error", text or resp.reason_phrase, None, after)
