"""Where seed 001's image job records live, as its worker reaches them: in darkroom's own
database (``LocalBackend``: darkroom is the backend too) or in the system's own backend
over HTTP (``HttpBackend``, IMAGE_JOBS_BACKEND_URL: GET and PATCH
/api/image-jobs/:id[/status], authenticated as that backend requires)."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import httpx

from darkroom.blobs import BlobNotFound, BlobStore
from darkroom.dialects.imagejobs_records import COMPLETED, FAILED, ImageJobRecords
from darkroom.outbound import deadline

log = logging.getLogger("darkroom.dialects.imagejobs")


class Unavailable(Exception):
    """The backend or the store did not answer; tried again later."""


class Refused(Exception):
    """The backend refused darkroom's credentials (401, 403): trying again cannot help."""


class Backend(Protocol):
    def fetch(self, job_id: str) -> dict[str, Any] | None:
        """The image job as GET /api/image-jobs/:id gives its ``data``; None if unknown."""
        ...

    def set_status(self, job_id: str, status: str, **fields: str) -> dict[str, Any] | None:
        """Change the job's status; the job as it is now, when the backend says."""
        ...

    def raw_image(self, job: dict[str, Any]) -> bytes | None:
        """The raw image's bytes when they are at hand (darkroom's own bucket); None: the
        worker downloads ``sourceImageURL``."""
        ...


class LocalBackend:
    """Image jobs in darkroom's own database; raw images in ``store``."""

    def __init__(self, records: ImageJobRecords, store: BlobStore) -> None:
        self.records = records
        self.store = store

    def fetch(self, job_id: str) -> dict[str, Any] | None:
        job = self.records.get(job_id)
        return job.to_api() if job is not None else None

    def set_status(self, job_id: str, status: str, **fields: str) -> dict[str, Any] | None:
        values: dict[str, Any] = {"status": status}
        if "outputImageURL" in fields:
            values["output_url"] = fields["outputImageURL"]
        if "outputImageKey" in fields:
            values["output_key"] = fields["outputImageKey"]
        values["error_msg"] = fields.get("errorMsg", "")
        values["processed_at"] = time.time() if status in (COMPLETED, FAILED) else None
        job = self.records.update(job_id, **values)
        return job.to_api() if job is not None else None

    def raw_image(self, job: dict[str, Any]) -> bytes | None:
        try:
            return self.store.get(job["sourceImageKey"])
        except BlobNotFound as exc:
            raise Unavailable(
                f"the raw image {job['sourceImageKey']} is not in the bucket"
            ) from exc


class HttpBackend:
    """The system's own backend. Its image-job routes need the access-token JWT: sent as
    the configured cookie and as ``Authorization: Bearer``, and the worker token as
    ``X-Worker-Token`` where one is configured."""

    def __init__(
        self,
        base_url: str,
        client: httpx.Client,
        *,
        worker_token: str | None,
        access_token: str | None,
        cookie_name: str,
        timeout_s: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.headers: dict[str, str] = {}
        if worker_token:
            self.headers["x-worker-token"] = worker_token
        if access_token:
            self.headers["authorization"] = f"Bearer {access_token}"
            self.headers["cookie"] = f"{cookie_name}={access_token}"
        self.timeout_s = timeout_s

    def fetch(self, job_id: str) -> dict[str, Any] | None:
        answer = self._call("GET", f"/api/image-jobs/{job_id}")
        if answer.status_code in (400, 404):
            return None
        return self._data(answer)

    def set_status(self, job_id: str, status: str, **fields: str) -> dict[str, Any] | None:
        answer = self._call(
            "PATCH", f"/api/image-jobs/{job_id}/status", {"status": status, **fields}
        )
        if answer.status_code in (400, 404):
            raise Unavailable(f"PATCH status answered {answer.status_code}: {answer.text[:200]}")
        try:
            return self._data(answer)
        except Unavailable:
            return None  # changed, though the answer carries no record

    def raw_image(self, job: dict[str, Any]) -> bytes | None:
        return None

    def _data(self, answer: httpx.Response) -> dict[str, Any]:
        try:
            body = answer.json()
        except ValueError as exc:
            raise Unavailable(f"the backend's answer is not JSON: {answer.text[:200]}") from exc
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise Unavailable(f"the backend's answer has no data: {answer.text[:200]}")
        return data

    def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            with deadline(self.timeout_s):  # the whole call, the answer's body included
                answer = self.client.request(
                    method,
                    self.base_url + path,
                    json=body,
                    headers=self.headers,
                    timeout=self.timeout_s,
                )
        except httpx.HTTPError as exc:
            raise Unavailable(f"{method} {path}: {exc}") from exc
        if answer.status_code in (401, 403):
            raise Refused(
                f"{method} {path} answered {answer.status_code}: the backend refused darkroom's "
                "credentials (set IMAGE_JOBS_BACKEND_TOKEN to an access token it accepts)"
            )
        if answer.status_code >= 500 or answer.status_code == 429:
            raise Unavailable(f"{method} {path} answered {answer.status_code}")
        if answer.status_code >= 400 and answer.status_code not in (400, 404):
            raise Unavailable(f"{method} {path} answered {answer.status_code}: {answer.text[:200]}")
        return answer
