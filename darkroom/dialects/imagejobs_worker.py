"""Seed 001's worker, on darkroom's one job engine.

``TaskSubmitter`` takes the process_image tasks from the shared Redis list and turns each
into an ordinary darkroom job (a WebP, 800 px wide by default, rendered by darkroom's
workers like any other), marking the image job PROCESSING as the system's worker did.
When the job ends, its ``imagejobs`` effect (``record_outcome``, run by the effect sender
from an outbox row written with the outcome) copies the WebP to
``optimized/<raw base>-optimized.webp`` in the bucket and marks the image job COMPLETED
with outputImageURL and outputImageKey, or FAILED with errorMsg.

A task taken twice (its consumer died before removing it) makes one job: the job's
idempotency key is the image job's id and the time it was marked PROCESSING. An effect
run twice changes nothing the second time: it acts only on an image job still PROCESSING.
"""

from __future__ import annotations

import logging
import posixpath
import threading
import time
from dataclasses import dataclass

from darkroom.blobs import BlobStore
from darkroom.dialects.base import DIALECT_LABEL
from darkroom.dialects.imagejobs_backend import Backend, Refused, Unavailable
from darkroom.dialects.imagejobs_records import COMPLETED, FAILED, PROCESSING
from darkroom.dialects.task_queue import MalformedTask, Task, TaskQueue, message, parse
from darkroom.jobs.effects import EffectFailed
from darkroom.jobs.errors import InsufficientStorage, ServiceError
from darkroom.jobs.failures import FailureCode
from darkroom.jobs.model import Job
from darkroom.jobs.retry import backoff_s
from darkroom.jobs.sources import IncomingSource
from darkroom.jobs.spec import JobOptions, OutputIn
from darkroom.jobs.status import JobStatus
from darkroom.periodic import Periodic
from darkroom.service import JobService

log = logging.getLogger("darkroom.dialects.imagejobs")

EFFECT = "imagejobs"
IMAGE_JOB_LABEL = "image_job"
OUTPUT_NAME = "optimized"
OUTPUT_PREFIX = "optimized/"
MAX_ATTEMPTS = 5  # a task given back this often after transient failures is failed
DOWNLOAD_CODES = frozenset(
    {
        FailureCode.DOWNLOAD_FAILED,
        FailureCode.DOWNLOAD_TIMEOUT,
        FailureCode.DOWNLOAD_REJECTED,
        FailureCode.DOWNLOAD_TOO_LARGE,
        FailureCode.TOO_MANY_REDIRECTS,
        FailureCode.FORBIDDEN_DESTINATION,
    }
)


@dataclass(frozen=True)
class OutputSettings:
    """The WebP the system's worker made: IMAGE_JOBS_WIDTH wide, IMAGE_JOBS_QUALITY."""

    width: int = 800
    quality: int = 80

    def output(self) -> OutputIn:
        return OutputIn(
            name=OUTPUT_NAME,
            op="thumbnail",
            width=self.width,
            enlarge=True,
            format="webp",
            quality=self.quality,
        )


def output_key(source_key: str) -> str:
    """``raw/1234-abc.jpg`` -> ``optimized/1234-abc-optimized.webp``."""
    base = posixpath.splitext(posixpath.basename(source_key))[0]
    return f"{OUTPUT_PREFIX}{base}-optimized.webp"


class NoSuchJob(Exception):
    """The task names an image job the backend does not have."""


class TaskSubmitter:
    """One thread taking this dialect's tasks and submitting jobs; one keeping this
    consumer's key alive."""

    def __init__(
        self,
        queue: TaskQueue,
        backend: Backend,
        service: JobService,
        output: OutputSettings,
        *,
        poll_s: float,
    ) -> None:
        self.queue = queue
        self.backend = backend
        self.service = service
        self.output = output
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._beat = Periodic("task-queue-beat", queue.lease_s / 3, queue.beat)

    def start(self) -> None:
        self.queue.beat()
        self._beat.start()
        self._thread = threading.Thread(target=self._run, name="task-queue", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the task in hand, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._beat.stop()

    def _run(self) -> None:
        last_recovery = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_recovery > self.queue.lease_s / 2:
                    self.queue.recover()
                    last_recovery = time.monotonic()
                raw = self.queue.take()
            except Exception:
                log.exception("reading the task queue failed; trying again")
                raw = None
            if raw is None:
                self._stop.wait(self.poll_s)
            else:
                self.handle(raw)

    def handle(self, raw: str) -> None:
        """Deal with one message from this consumer's processing list."""
        try:
            task = parse(raw)
        except MalformedTask as exc:
            self.queue.dead_letter(raw, str(exc))
            return
        try:
            self.submit(task)
        except NoSuchJob:
            self.queue.dead_letter(raw, f"no image job {task.image_job_id}")
        except Refused as exc:
            log.error(str(exc), extra={"image_job_id": task.image_job_id})
            self.queue.dead_letter(raw, str(exc))
        except Unavailable as exc:
            self._later(task, str(exc))
        except Exception as exc:  # a bug must not lose the task
            log.exception("submitting an image job failed unexpectedly")
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
        self._stop.wait(backoff_s(attempts, base_s=0.5, max_s=30.0))
        self.queue.again(task.raw, message(task.image_job_id, attempts))

    def submit(self, task: Task) -> Job | None:
        """The job for the task's image job (one already submitted for it, after a crash);
        None when there is nothing to do."""
        image_job_id = task.image_job_id
        record = self.backend.fetch(image_job_id)
        if record is None:
            raise NoSuchJob(image_job_id)
        if record.get("status") == COMPLETED:
            log.info("image job already completed", extra={"image_job_id": image_job_id})
            return None
        if record.get("status") != PROCESSING:
            record = self.backend.set_status(image_job_id, PROCESSING) or self.backend.fetch(
                image_job_id
            )
            if record is None:
                raise NoSuchJob(image_job_id)
        raw = self.backend.raw_image(record)
        source = (
            IncomingSource(data=raw, filename=record.get("originalFilename"))
            if raw is not None
            else IncomingSource(url=str(record.get("sourceImageURL")))
        )
        options = JobOptions(
            outputs=[self.output.output()],
            labels={DIALECT_LABEL: EFFECT, IMAGE_JOB_LABEL: image_job_id},
            idempotency_key=f"imagejobs:{image_job_id}:{record.get('updatedAt')}",
        )
        try:
            job, new = self.service.submit(options, [source], effects=[EFFECT])
        except InsufficientStorage as exc:  # a full disk, not the image: the task waits
            raise Unavailable(exc.message) from exc
        except ServiceError as exc:  # the image cannot be made: as the worker said it
            text = failure_message(exc.code, exc.message)
            self.backend.set_status(image_job_id, FAILED, errorMsg=text)
            return None
        if new:
            log.info("image job submitted", extra={"image_job_id": image_job_id, "job_id": job.id})
        return job


def failure_message(code: str | None, message: str) -> str:
    """errorMsg as the system's worker wrote it."""
    if code in DOWNLOAD_CODES:
        return f"Failed to download image: {message}"
    return f"Failed to process image: {message}"


class OutcomeRecorder:
    """The ``imagejobs`` effect: the image job's record of its darkroom job's outcome."""

    def __init__(self, backend: Backend, blobs: BlobStore, bucket: BlobStore, public_url: str):
        self.backend = backend
        self.blobs = blobs
        self.bucket = bucket
        self.public_url = public_url.rstrip("/")

    def __call__(self, job: Job) -> None:
        image_job_id = job.labels[IMAGE_JOB_LABEL]
        try:
            record = self.backend.fetch(image_job_id)
            if record is None or record.get("status") != PROCESSING:
                return  # deleted, or recorded already (an earlier attempt of this effect)
            if job.status is JobStatus.SUCCEEDED:
                self._completed(job, record)
            elif job.status is JobStatus.CANCELED:
                self.backend.set_status(image_job_id, FAILED, errorMsg="Job canceled")
            else:
                text = failure_message(job.error_code, job.error_message or "failed")
                self.backend.set_status(image_job_id, FAILED, errorMsg=text)
        except Refused as exc:
            raise EffectFailed(str(exc), permanent=True) from exc
        except Unavailable as exc:
            raise EffectFailed(str(exc)) from exc

    def _completed(self, job: Job, record: dict[str, object]) -> None:
        made = job.output(OUTPUT_NAME)
        if made is None:
            raise EffectFailed(f"job {job.id} has no output {OUTPUT_NAME!r}", permanent=True)
        key = output_key(str(record.get("sourceImageKey") or record.get("_id")))
        try:
            self.bucket.put(key, self.blobs.get(made["key"]))
        except Exception as exc:
            raise EffectFailed(f"uploading {key}: {exc}") from exc
        url = f"{self.public_url}/{key}"
        self.backend.set_status(
            str(record.get("_id") or job.labels[IMAGE_JOB_LABEL]),
            COMPLETED,
            outputImageURL=url,
            outputImageKey=key,
        )
        log.info("image job completed", extra={"image_job_id": job.labels[IMAGE_JOB_LABEL]})
