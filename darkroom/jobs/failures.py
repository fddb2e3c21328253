"""Why a job's attempt failed, as it records it in ``error_code`` (docs/api.md#errors); the
transient ones are tried again after a backoff (jobs/retry.py)."""

from __future__ import annotations

from enum import StrEnum


class FailureCode(StrEnum):
    # the image, once read in full, is not usable
    CORRUPT_IMAGE = "corrupt_image"
    UNSUPPORTED_IMAGE = "unsupported_image"
    IMAGE_TOO_LARGE = "image_too_large"
    OUTPUT_TOO_LARGE = "output_too_large"
    INVALID_SPEC = "invalid_spec"
    # the source could not be had, and asking again would not change that
    DOWNLOAD_REJECTED = "download_rejected"
    DOWNLOAD_TOO_LARGE = "download_too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    FORBIDDEN_DESTINATION = "forbidden_destination"
    SOURCE_UNAVAILABLE = "source_unavailable"
    OUT_OF_MEMORY = "out_of_memory"
    # transient: tried again
    DOWNLOAD_FAILED = "download_failed"
    DOWNLOAD_TIMEOUT = "download_timeout"
    TIMEOUT = "timeout"
    WORKER_CRASHED = "worker_crashed"
    WORKER_LOST = "worker_lost"  # recorded as final once every attempt's worker vanished
    STORAGE_ERROR = "storage_error"
    INTERNAL_ERROR = "internal_error"
    # transient, and not counted as an attempt: no space left to store the results
    # (jobs/space.py); the job waits for space however long that takes
    INSUFFICIENT_STORAGE = "insufficient_storage"

    @property
    def transient(self) -> bool:
        return self in _TRANSIENT

    @property
    def counted(self) -> bool:
        """Whether the attempt it ends counts towards DARKROOM_MAX_ATTEMPTS."""
        return self is not FailureCode.INSUFFICIENT_STORAGE


_TRANSIENT = frozenset(
    {
        FailureCode.DOWNLOAD_FAILED,
        FailureCode.DOWNLOAD_TIMEOUT,
        FailureCode.TIMEOUT,
        FailureCode.WORKER_CRASHED,
        FailureCode.WORKER_LOST,
        FailureCode.STORAGE_ERROR,
        FailureCode.INTERNAL_ERROR,
        FailureCode.INSUFFICIENT_STORAGE,
    }
)


def counts_as_attempt(code: str) -> bool:
    """Whether a failure with this code uses up one of the job's attempts (an unknown code
    does)."""
    try:
        return FailureCode(code).counted
    except ValueError:
        return True


def is_transient(code: str) -> bool:
    """Whether a failure with this code is tried again (an unknown code is not)."""
    try:
        return FailureCode(code).transient
    except ValueError:
        return False
