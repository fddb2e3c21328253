"""Errors the job service reports to clients: an HTTP status and a machine code."""

from __future__ import annotations

from typing import Any

from darkroom.imaging import ImageError


class ServiceError(Exception):
    status_code = 400
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details


class InvalidRequest(ServiceError):
    status_code = 422
    code = "invalid_request"


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class NotFinished(ServiceError):
    status_code = 409
    code = "not_finished"


class JobFailed(ServiceError):
    status_code = 422
    code = "job_failed"


class InsufficientStorage(ServiceError):
    """No space left to store what was sent (jobs/space.py): try again once there is."""

    status_code = 507
    code = "insufficient_storage"

    def __init__(self, message: str = "no space left to store the request; try again later"):
        super().__init__(message)


class Busy(ServiceError):
    """This process is doing as much of the work asked as it may at once (api/variant_gate.py):
    try again after ``retry_after_s`` seconds, which the answer's Retry-After says."""

    status_code = 503
    code = "busy"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, retry_after_s))}


class QuotaExceeded(ServiceError):
    """The API key has as many jobs queued as its quota (``--max-queued``) allows: submit
    more once some have started; the answer's Retry-After says when to look again."""

    status_code = 429
    code = "quota_exceeded"
    RETRY_AFTER_S = 5  # a queued job takes a while to start: no use asking sooner

    def __init__(self, max_queued: int) -> None:
        super().__init__(
            f"this key has {max_queued} jobs queued, as many as it may; "
            "submit more once some have started"
        )
        self.headers = {"Retry-After": str(self.RETRY_AFTER_S)}


class ConverterLost(Busy):
    """The process converting an output on the fly died before it was done (killed, out
    of memory, a crash in a decoder); the next try starts a new one."""

    code = "conversion_failed"


# Codes of image errors met while serving a request, and the HTTP status each gets.
IMAGE_ERROR_STATUS = {
    "unsupported_image": 415,
    "corrupt_image": 422,
    "image_too_large": 422,
    "output_too_large": 422,
    "invalid_spec": 422,
}


def from_image_error(exc: ImageError) -> ServiceError:
    """The client-facing error for an image refused while serving a request."""
    return ServiceError(str(exc), code=exc.code, status_code=IMAGE_ERROR_STATUS.get(exc.code, 422))
