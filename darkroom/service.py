"""The job service: what the API and the dialects ask of jobs, over the store, the blob
store and the queue. It sits above the job domain (darkroom.jobs), which knows none of
them."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from darkroom import imaging, metrics, tracing
from darkroom.blobs import BlobStore
from darkroom.config import Settings
from darkroom.imaging import Operation, SourceFacts
from darkroom.jobs import keys
from darkroom.jobs.delivery import EVENT_FAILED, EVENT_SUCCEEDED, Delivery
from darkroom.jobs.errors import (
    Conflict,
    InsufficientStorage,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    ServiceError,
    from_image_error,
)
from darkroom.jobs.model import Job, JobFilter, JobPage
from darkroom.jobs.records import (
    JobSpec,
    SourceFactsRecord,
    SourceRef,
    output_spec,
    source_facts_record,
)
from darkroom.jobs.sources import IncomingSource, resolve_input_path
from darkroom.jobs.space import out_of_space
from darkroom.jobs.spec import JobOptions, OutputIn, request_fingerprint
from darkroom.jobs.status import JobStatus
from darkroom.logs import current_request_id
from darkroom.outbound import ForbiddenDestination, OutboundGuard, Unresolvable
from darkroom.queue import JobQueue
from darkroom.slices import image_limits
from darkroom.store import JobStore, Stats
from darkroom.store.job_writes import QuotaReached
from darkroom.store.webhooks import WebhookStore
from darkroom.worker.watermarks import WatermarkFiles, check_watermarks

log = logging.getLogger("darkroom.jobs")


class JobService:
    def __init__(
        self,
        store: JobStore,
        blobs: BlobStore,
        queue: JobQueue,
        settings: Settings,
        guard: OutboundGuard,
        webhooks: WebhookStore,
        wake_workers: Callable[[], None] | None = None,
    ) -> None:
        self.guard = guard
        self.webhooks = webhooks
        self.store = store
        self.blobs = blobs
        self.queue = queue
        self.settings = settings
        self.limits = image_limits(settings)
        self._wake_workers = wake_workers

    def inspect(self, data: bytes) -> SourceFacts:
        """What an image's header says (format, displayed size, …), within the configured
        limits; an image darkroom cannot read is a ServiceError, as at submission."""
        if len(data) > self.settings.max_upload_bytes:
            raise PayloadTooLarge(f"image larger than {self.settings.max_upload_bytes} bytes")
        try:
            return imaging.probe(data, self.limits)
        except imaging.ImageError as exc:
            raise from_image_error(exc) from exc

    @tracing.traced("darkroom.job.submit")
    def submit(
        self,
        options: JobOptions,
        sources: list[IncomingSource],
        *,
        effects: Sequence[str] = (),
        owner: str | None = None,
        max_queued: int | None = None,
    ) -> tuple[Job, bool]:
        """Queue a job; returns it and whether it is new (False: an idempotent replay).
        ``effects``: the names of what its outcome must cause (jobs/effects.py); ``owner``:
        the API key submitting it, the only one besides admins that will see it;
        ``max_queued``: that key's quota of queued jobs (QuotaExceeded, nothing kept)."""
        if not sources:
            raise InvalidRequest("a job needs at least one source", code="missing_source")
        if len(sources) > self.settings.max_sources:
            raise InvalidRequest(f"at most {self.settings.max_sources} sources per job")
        outputs = options.effective_outputs()
        if len(outputs) > self.settings.max_outputs:
            raise InvalidRequest(f"at most {self.settings.max_outputs} outputs per job")
        for out in outputs:
            self._check_output_size(out)
            if out.op is Operation.PAIR and len(sources) < 2:
                raise InvalidRequest("op 'pair' needs at least two sources: a chapter's pages")
        specs = [
            spec for out in outputs if out.op is not Operation.PAIR for spec in out.render_specs()
        ]
        webhook_url = options.webhook_url or self.settings.webhook_url
        for url in [s.url for s in sources if s.url is not None] + [webhook_url]:
            if url is not None:
                self._check_destination(url)
        watermarks = WatermarkFiles(
            self.blobs, self.settings.input_root, self.settings.watermark_files()
        )
        check_watermarks(outputs, watermarks, self.store.get, owner)

        fingerprint = request_fingerprint(options, [s.digest() for s in sources])
        if options.idempotency_key:
            existing = self.store.get_by_idempotency_key(options.idempotency_key)
            if existing is not None:
                return self._replay(existing, fingerprint, owner), False

        job_id = str(uuid.uuid4())
        facts: list[SourceFactsRecord] = []
        stored: list[SourceRef] = []
        with self._sources_deleted_on_failure(job_id):
            for index, source in enumerate(sources):
                stored.append(
                    self._accept_source(job_id, index, source, facts, specs, options.page)
                )

        job_spec: JobSpec = {"outputs": [output_spec(o) for o in outputs]}
        if options.placeholders:
            job_spec["placeholders"] = True
        if options.page is not None:
            job_spec["page"] = options.page
        request_id = current_request_id()
        if request_id is not None:
            job_spec["request_id"] = request_id
        tracing.current().set(job_id=job_id, sources=len(sources), outputs=len(outputs))
        traceparent = tracing.inject()
        if traceparent is not None:
            job_spec["traceparent"] = traceparent
        now = round(time.time(), 6)  # what the API shows, so time filters match exactly
        job = Job(
            id=job_id,
            status=JobStatus.QUEUED,
            created_at=now,
            updated_at=now,
            available_at=now,
            spec=job_spec,
            sources=stored,
            source_facts=facts if len(facts) == len(sources) else None,
            max_attempts=self.settings.max_attempts,
            labels=dict(options.labels),
            idempotency_key=options.idempotency_key,
            request_hash=fingerprint,
            webhook_url=webhook_url,
            retention_s=options.retention_s or self.settings.retention_s,
            effects=list(effects),
            owner=owner,
        )
        # no source without its job; an insert that failed otherwise may have been
        # stored (a connection lost at commit), so its sources stay
        try:
            with self._sources_deleted_on_failure(job_id, only_for_want_of_space=True):
                saved = self.store.insert(job, max_queued)
        except QuotaReached:
            self.blobs.delete_prefix(keys.job_prefix(job.id))
            raise QuotaExceeded(max_queued or 0) from None
        if saved.id != job.id:  # lost an idempotency race to an identical request
            self.blobs.delete_prefix(keys.job_prefix(job.id))
            return self._replay(saved, fingerprint, owner), False
        log.info("job queued", extra={"job_id": saved.id, "sources": len(sources)})
        metrics.job_submitted(stored[0]["kind"])
        self._announce(saved.id)
        return saved, True

    @contextmanager
    def _sources_deleted_on_failure(
        self, job_id: str, *, only_for_want_of_space: bool = False
    ) -> Iterator[None]:
        """Should the block fail, delete the sources stored for the job. A write refused
        for want of space (a full disk, jobs/space.py) becomes InsufficientStorage (507)."""
        try:
            yield
        except Exception as exc:
            no_space = out_of_space(exc)
            if no_space or not only_for_want_of_space:
                try:
                    self.blobs.delete_prefix(keys.job_prefix(job_id))
                except Exception:
                    log.exception("could not delete the sources of a job not queued")
            if no_space:
                log.warning("job refused: no space left", extra={"error": str(exc)})
                raise InsufficientStorage() from exc
            raise

    def _replay(self, existing: Job, fingerprint: str, owner: str | None) -> Job:
        # a key used by another API key's job: the same answer as a different request,
        # so that neither learns anything of the other's job
        if existing.request_hash != fingerprint or existing.owner != owner:
            raise Conflict(
                "idempotency_key was already used with a different request",
                code="idempotency_conflict",
            )
        return existing

    def _check_destination(self, url: str) -> None:
        """Refuse now a URL the worker or the webhook sender would refuse later (they check
        again: DNS may answer differently by then). A name that does not resolve yet is
        left to them."""
        try:
            self.guard.check(url)
        except Unresolvable:
            return
        except ForbiddenDestination as exc:
            raise ServiceError(exc.message, code=exc.code, status_code=403) from exc

    def _check_output_size(self, out: OutputIn) -> None:
        """Refuse an output too large whatever the source: a side over the limit (times
        its ``dpr``), or a size fixed by the request (resize and cover that may enlarge,
        a padded thumbnail's canvas, pair) over the pixel limit. Sizes that depend on the
        source are checked once it is known (``_accept_source``, or the worker for URL and
        path sources)."""
        limit = self.settings.max_output_dimension
        width, height = (
            None if side is None else round(side * out.dpr) for side in (out.width, out.height)
        )
        if (width or 0) > limit or (height or 0) > limit:
            raise InvalidRequest(
                f"output dimensions are limited to {limit} px per side"
                + (f" (with dpr {out.dpr:g})" if out.dpr != 1 else ""),
                code="output_too_large",
            )
        size: imaging.Size | None = None
        fixed = out.op in (Operation.RESIZE, Operation.COVER) and out.enlarge
        if (fixed or out.fit is imaging.Fit.PAD) and width and height:
            size = imaging.Size(width, height)
        elif out.op is Operation.PAIR:
            size = imaging.pair_size(out.width or self.settings.pair_width)
        if size is not None:
            try:
                imaging.check_output_size(size, self.limits)
            except imaging.ImageError as exc:
                raise from_image_error(exc) from exc

    def _accept_source(
        self,
        job_id: str,
        index: int,
        source: IncomingSource,
        facts: list[SourceFactsRecord],
        specs: Sequence[imaging.RenderSpec],
        page: int | None,
    ) -> SourceRef:
        if (uploaded := source.uploaded) is not None:
            if (source.size or 0) > self.settings.max_upload_bytes:
                raise PayloadTooLarge(f"image larger than {self.settings.max_upload_bytes} bytes")
            try:
                # the digest is known (a staged upload was hashed as it arrived): only
                # the header is read
                probed = imaging.probe(uploaded, self.limits, sha256=source.sha256, page=page)
                # what the worker would refuse from the header: outputs too large for this
                # source (an enlarging thumbnail, a full-size convert, frames), refused now
                imaging.check_outputs(probed, specs, self.limits, page)
                facts.append(source_facts_record(probed))
            except imaging.ImageError as exc:
                raise from_image_error(exc) from exc
            key = keys.source_key(job_id, index)
            if source.staged is not None:
                self.blobs.put_file(key, source.staged.file)
            else:
                self.blobs.put(key, source.data or b"")
            return {"kind": "blob", "key": key, "filename": source.filename}
        if source.path is not None:
            path = resolve_input_path(self.settings.input_root, source.path)
            if path.stat().st_size > self.settings.max_upload_bytes:
                raise PayloadTooLarge(f"image larger than {self.settings.max_upload_bytes} bytes")
            return {"kind": "path", "path": source.path, "filename": path.name}
        if source.url is None:
            raise InvalidRequest("a source needs bytes, a url or a path", code="missing_source")
        return {"kind": "url", "url": source.url, "filename": source.filename}

    def get(self, job_id: str, owner: str | None = None) -> Job:
        """The job; with ``owner``, only if that API key submitted it: another's job is
        not found, exactly as a job that does not exist."""
        # no job has a NUL in its id, and PostgreSQL refuses one in a query (a 500)
        job = None if "\x00" in job_id else self.store.get(job_id)
        if job is None or (owner is not None and job.owner != owner):
            raise NotFound(f"no job {job_id}")
        if job.expired_at is not None:
            raise NotFound(f"job {job_id} expired and was deleted", code="expired")
        return job

    def delivery(self, job: Job) -> Delivery | None:
        """The job's webhook delivery; looked up only for a finished job with a webhook."""
        if job.webhook_url is None or not job.status.finished:
            return None
        return self.webhooks.get(job.id)

    def deliveries(self, jobs: list[Job]) -> dict[str, Delivery]:
        return self.webhooks.get_many([j.id for j in jobs if j.webhook_url])

    def redeliver(self, job_id: str, owner: str | None = None) -> Job:
        """Send the webhook of a finished job again, from a fresh set of attempts."""
        job = self.get(job_id, owner)
        if job.webhook_url is None:
            raise Conflict("this job has no webhook_url", code="no_webhook")
        if job.status not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            raise Conflict(
                f"webhooks are sent when a job succeeds or fails; this one is {job.status.value}",
                code="invalid_state",
            )
        if self.webhooks.redeliver(job_id) is None:
            if self.webhooks.get(job_id) is not None:
                raise Conflict("the webhook is being sent right now", code="delivery_in_progress")
            event = EVENT_SUCCEEDED if job.status is JobStatus.SUCCEEDED else EVENT_FAILED
            self.webhooks.schedule(job_id, job.webhook_url, event)
        log.info("webhook to be sent again", extra={"job_id": job_id})
        return job

    def list_jobs(
        self, filters: JobFilter, *, limit: int, after: tuple[float, str] | None = None
    ) -> JobPage:
        return self.store.list_jobs(filters, limit=limit, after=after)

    def queue_position(self, job: Job) -> int | None:
        return self.store.queue_position(job)

    def cancel_and_delete(self, job_id: str, owner: str | None = None) -> Job:
        """Cancel the job if it has not finished, then delete its stored artifacts."""
        job = self.get(job_id, owner)
        if not job.status.finished:
            canceled = self.store.cancel(job_id)
            if canceled is not None:
                log.info("job canceled", extra={"job_id": job_id})
            job = canceled or self.get(job_id)
        self.blobs.delete_prefix(keys.job_prefix(job_id))
        return self.store.mark_artifacts_deleted(job_id) or job

    def retry(self, job_id: str, owner: str | None = None) -> Job:
        job = self.get(job_id, owner)
        if job.status is not JobStatus.FAILED:
            raise Conflict(
                f"only failed jobs can be retried; this one is {job.status.value}",
                code="invalid_state",
            )
        retried = self.store.requeue_failed(job_id)
        if retried is None:
            raise Conflict("the job changed or its sources were deleted", code="invalid_state")
        log.info("job queued again", extra={"job_id": job_id})
        self._announce(job_id)
        return retried

    def _announce(self, job_id: str) -> None:
        self.queue.announce([job_id])
        if self._wake_workers is not None:
            self._wake_workers()

    def stats(self) -> Stats:
        return self.store.stats(worker_window_s=self.settings.lease_s)
