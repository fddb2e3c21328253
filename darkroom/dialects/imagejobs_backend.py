"""Seed 001's worker: takes process_image tasks from the Redis list and does what the
document's worker steps say: get the image job, mark it PROCESSING, download the source,
make a WebP, upload it to ``optimized/<raw base>-optimized.webp``, mark it COMPLETED
with outputImageURL and outputImageKey, or FAILED with errorMsg.

The image job lives either in darkroom (``LocalBackend``: darkroom is the backend too) or
in the system's own backend, reached over HTTP (``HttpBackend``, IMAGE_JOBS_BACKEND_URL).
"""

from __future__ import annotations

import logging
import posixpath
import threading
import time
from typing import Any, Protocol

import httpx

from darkroom import imaging
from darkroom.blobs import BlobNotFound, BlobStore
from darkroom.dialects.imagejobs_records import COMPLETED, FAILED, PROCESSING, ImageJobRecords
from darkroom.dialects.task_queue import MalformedTask, Task, TaskQueue, message, parse
from darkroom.outbound import OutboundGuard
from darkroom.worker.fetch import FetchError, download

log = logging.getLogger("darkroom.dialects.imagejobs")

OUTPUT_PREFIX = "optimized/"
WEBP_QUALITY = 80
MAX_ATTEMPTS = 5  # a task given back this often after transient failures is failed
# Download failures worth another try; others (a 404, a forbidden address) fail the job.
TRANSIENT_DOWNLOAD = frozenset({"download_failed", "download_timeout"})


class Unavailable(Exception):
    """The backend or the store did not answer; the task is tried again later."""


class NoSuchJob(Exception):
    """The task names an image job the backend does not have."""


class Backend(Protocol):
    def fetch(self, job_id: str) -> dict[str, Any] | None:
        """The image job as GET /api/image-jobs/:id gives its ``data``; None if unknown."""
        ...

    def set_status(self, job_id: str, status: str, **fields: str) -> None: ...

    def source(self, job: dict[str, Any]) -> bytes:
        """The raw image's bytes."""
        ...


def output_key(source_key: str) -> str:
    """``raw/1234-abc.jpg`` -> ``optimized/1234-abc-optimized.webp``."""
    base = posixpath.splitext(posixpath.basename(source_key))[0]
    return f"{OUTPUT_PREFIX}{base}-optimized.webp"


class LocalBackend:
    """Image jobs in darkroom's own database; raw images in ``store``."""

    def __init__(self, records: ImageJobRecords, store: BlobStore) -> None:
        self.records = records
        self.store = store

    def fetch(self, job_id: str) -> dict[str, Any] | None:
        job = self.records.get(job_id)
        return job.to_api() if job is not None else None

    def set_status(self, job_id: str, status: str, **fields: str) -> None:
        values: dict[str, Any] = {"status": status}
        if "outputImageURL" in fields:
            values["output_url"] = fields["outputImageURL"]
        if "outputImageKey" in fields:
            values["output_key"] = fields["outputImageKey"]
        values["error_msg"] = fields.get("errorMsg", "")
        if status in (COMPLETED, FAILED):
            values["processed_at"] = time.time()
        self.records.update(job_id, **values)

    def source(self, job: dict[str, Any]) -> bytes:
        try:
            return self.store.get(job["sourceImageKey"])
        except BlobNotFound as exc:
            raise FetchError("download_rejected", "the raw image is gone from storage") from exc


class HttpBackend:
    """The system's own backend: GET and PATCH /api/image-jobs/:id[/status]."""

    def __init__(
        self,
        base_url: str,
        client: httpx.Client,
        guard: OutboundGuard,
        *,
        token: str | None,
        max_bytes: int,
        timeout_s: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.guard = guard
        self.headers = {"x-worker-token": token} if token else {}
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    def fetch(self, job_id: str) -> dict[str, Any] | None:
        answer = self._call("GET", f"/api/image-jobs/{job_id}")
        if answer.status_code == 404:
            return None
        body = answer.json()
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise Unavailable(f"the backend's answer has no data: {answer.text[:200]}")
        return data

    def set_status(self, job_id: str, status: str, **fields: str) -> None:
        self._call("PATCH", f"/api/image-jobs/{job_id}/status", {"status": status, **fields})

    def source(self, job: dict[str, Any]) -> bytes:
        return download(
            self.client,
            self.guard,
            str(job["sourceImageURL"]),
            max_bytes=self.max_bytes,
            timeout_s=self.timeout_s,
            max_redirects=5,
        )

    def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            answer = self.client.request(
                method, self.base_url + path, json=body, headers=self.headers, timeout=30
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"{method} {path}: {exc}") from exc
        if answer.status_code >= 500 or answer.status_code in (401, 403, 429):
            raise Unavailable(f"{method} {path} answered {answer.status_code}")
        if answer.status_code >= 400 and answer.status_code != 404:
            raise Unavailable(f"{method} {path} answered {answer.status_code}: {answer.text}")
        return answer


class ImageJobsConsumer:
    """One thread taking tasks, one keeping this consumer's key alive."""

    def __init__(
        self,
        queue: TaskQueue,
        backend: Backend,
        store: BlobStore,
        public_url: str,
        limits: imaging.Limits,
        *,
        max_size: int,
        poll_s: float = 1.0,
    ) -> None:
        self.queue = queue
        self.backend = backend
        self.store = store
        self.public_url = public_url.rstrip("/")
        self.limits = limits
        self.max_size = max_size
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for target, name in ((self._run, "task-queue"), (self._beat, "task-queue-beat")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Finish the task in hand, then stop."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _beat(self) -> None:
        while not self._stop.wait(self.queue.lease_s / 3):
            try:
                self.queue.beat()
            except Exception:
                log.exception("could not renew the task queue consumer's key")

    def _run(self) -> None:
        last_recovery = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_recovery > self.queue.lease_s / 2:
                    self.queue.recover()
                    last_recovery = time.monotonic()
                raw = self.queue.take(self.poll_s)
            except Exception:
                log.exception("reading the task queue failed; trying again")
                self._stop.wait(self.poll_s)
                continue
            if raw is not None:
                self.handle(raw)

    def handle(self, raw: str) -> None:
        """Deal with one message from this consumer's processing list."""
        try:
            task = parse(raw)
        except MalformedTask as exc:
            self.queue.dead_letter(raw, str(exc))
            return
        try:
            self._process(task)
        except NoSuchJob:
            self.queue.dead_letter(raw, f"no image job {task.image_job_id}")
            return
        except Unavailable as exc:
            self._later(task, str(exc))
        except Exception as exc:  # a bug must not lose the task
            log.exception("processing an image job failed unexpectedly")
            self._later(task, f"internal error: {type(exc).__name__}: {exc}")
        else:
            self.queue.done(raw)

    def _later(self, task: Task, reason: str) -> None:
        attempts = task.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            try:
                self.backend.set_status(task.image_job_id, FAILED, errorMsg=reason)
            except Exception:
                log.exception("could not mark the image job failed")
            self.queue.dead_letter(task.raw, f"gave up after {attempts} attempts: {reason}")
            return
        log.warning(
            f"image job put back for another try: {reason}",
            extra={"image_job_id": task.image_job_id, "attempt": attempts},
        )
        self._stop.wait(min(30.0, 0.5 * 2**attempts))
        self.queue.again(task.raw, message(task.image_job_id, attempts))

    def _process(self, task: Task) -> None:
        job_id = task.image_job_id
        job = self.backend.fetch(job_id)
        if job is None:
            raise NoSuchJob(job_id)
        if job.get("status") == COMPLETED:
            log.info("image job already completed", extra={"image_job_id": job_id})
            return
        self.backend.set_status(job_id, PROCESSING)
        started = time.perf_counter()
        try:
            data = self.backend.source(job)
            spec = imaging.RenderSpec(
                imaging.Operation.THUMBNAIL,
                width=self.max_size,
                height=self.max_size,
                format=imaging.OutputFormat.WEBP,
                quality=WEBP_QUALITY,
            )
            [webp] = imaging.render(data, [spec], self.limits)
        except FetchError as exc:
            if exc.code in TRANSIENT_DOWNLOAD:
                raise Unavailable(f"downloading the source: {exc.message}") from exc
            self._fail(job_id, f"Failed to download image: {exc.message}")
            return
        except imaging.ImageError as exc:
            self._fail(job_id, f"Failed to process image: {exc}")
            return
        key = output_key(str(job.get("sourceImageKey") or job_id))
        try:
            self.store.put(key, webp.data)
        except Exception as exc:
            raise Unavailable(f"uploading {key}: {exc}") from exc
        url = f"{self.public_url}/{key}"
        self.backend.set_status(job_id, COMPLETED, outputImageURL=url, outputImageKey=key)
        log.info(
            "image job completed",
            extra={"image_job_id": job_id, "seconds": round(time.perf_counter() - started, 3)},
        )

    def _fail(self, job_id: str, reason: str) -> None:
        log.warning(f"image job failed: {reason}", extra={"image_job_id": job_id})
        self.backend.set_status(job_id, FAILED, errorMsg=reason)
