"""One attempt at one job: load each source, render its outputs, store them."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from darkroom import imaging, metrics, tracing
from darkroom.blobs import BlobStore
from darkroom.imaging.placeholders import Placeholders
from darkroom.jobs import keys
from darkroom.jobs.errors import ServiceError
from darkroom.jobs.model import Job
from darkroom.jobs.records import (
    FormatRecord,
    OutputRecord,
    SourceFactsRecord,
    SourceRef,
    crop_record,
    pair_record,
    source_facts_of,
    source_facts_record,
    with_placeholders,
)
from darkroom.jobs.sources import resolve_input_path
from darkroom.jobs.spec import OutputIn, output_name, pair_spec
from darkroom.outbound import OutboundGuard
from darkroom.smart import Analyzer
from darkroom.worker.fetch import DownloadLimits, FetchError, download
from darkroom.worker.watermarks import WatermarkFiles, watermark_specs


@dataclass(frozen=True)
class SourceLoader:
    blobs: BlobStore
    http: httpx.Client
    guard: OutboundGuard
    input_root: Path | None
    downloads: DownloadLimits
    watermarks: Mapping[str, Path] = field(default_factory=dict)  # DARKROOM_WATERMARKS

    def load(self, source: SourceRef) -> imaging.ImageInput:
        """The source's bytes; or, for a large file on this machine, its path, so that the
        decoder streams it instead of holding it all in memory."""
        if source["kind"] == "blob":
            path = self.blobs.local_path(source["key"])
            return _read_if_small(path) if path else self.blobs.get(source["key"])
        if source["kind"] == "path":
            try:
                path = resolve_input_path(self.input_root, source["path"])
            except ServiceError as exc:  # this worker's folder lacks it, or has none
                raise FetchError("source_unavailable", exc.message) from exc
            return _read_if_small(path)
        return download(self.http, self.guard, source["url"], self.downloads)


# Files up to this size are read once into memory, then hashed and decoded from there;
# reading them twice (once to hash, once to decode) costs more than holding them.
SMALL_FILE_BYTES = 16 * 1024 * 1024


def _read_if_small(path: Path) -> imaging.ImageInput:
    try:
        if path.stat().st_size <= SMALL_FILE_BYTES:
            return path.read_bytes()
    except OSError as exc:
        raise FetchError("source_unavailable", f"cannot read the source: {exc}") from exc
    return path


@dataclass(frozen=True)
class PairDefaults:
    """The configured pair cover defaults (DARKROOM_PAIR_* or THUMBNAIL_PAIR_*)."""

    width: int = 1200
    gap: int = 5
    skip_edges: int = 2


def execute(
    job: Job,
    loader: SourceLoader,
    blobs: BlobStore,
    limits: imaging.Limits,
    *,
    on_facts: Callable[[list[SourceFactsRecord]], object],
    on_progress: Callable[[int], object],
    analyzer: Analyzer | None = None,
    pair_defaults: PairDefaults = PairDefaults(),
) -> list[OutputRecord]:
    """Run ``job`` and return its output records. Raises ImageError or FetchError.

    Outputs are made source by source, except pair covers, which are made from all the
    sources together once each has been read."""
    outputs_in = [OutputIn.model_validate(o) for o in job.spec["outputs"]]
    per_source = [o for o in outputs_in if o.op is not imaging.Operation.PAIR]
    pairs = [o for o in outputs_in if o.op is imaging.Operation.PAIR]
    marks = watermark_specs(
        per_source, WatermarkFiles(loader.blobs, loader.input_root, loader.watermarks)
    )
    # one spec per format of each output (``formats``), all rendered from the one decode
    specs_of = [o.render_specs(mark) for o, mark in zip(per_source, marks, strict=True)]
    specs = [spec for each in specs_of for spec in each]
    ops = [out.op.value for out, each in zip(per_source, specs_of, strict=True) for _ in each]
    count = len(job.sources)
    steps_per_source = len(specs) + 1
    total_steps = count * steps_per_source + len(pairs)
    known = job.source_facts or []
    page = job.spec.get("page")  # of each source; None: the first, or every frame
    facts: list[SourceFactsRecord] = []
    records: list[OutputRecord] = []
    pages: list[imaging.ImageInput] = []  # kept for pair covers only

    def report(steps_done: int) -> None:
        on_progress(min(99, 5 + 90 * steps_done // total_steps))

    for index, source in enumerate(job.sources):
        first_step = index * steps_per_source

        def rendered_so_far(n: int, first: int = first_step) -> None:
            report(first + 1 + n)

        with tracing.span("darkroom.source.fetch", source=index, kind=source["kind"]) as fetch:
            data = loader.load(source)
            size = _size_of(data)
            fetch.set(bytes=size)
            # Uploads were probed at submission and their stored bytes never change; a file
            # or a URL is probed on every attempt, since it may have changed since the last
            # one. render checks the limits again from these facts.
            probed = (
                source_facts_of(known[index])
                if source["kind"] == "blob" and index < len(known)
                else imaging.probe(data, limits, page=page)
            )
        metrics.source_read(source["kind"], size)
        facts.append(source_facts_record(probed))
        on_facts(facts)
        report(first_step + 1)
        placeholders: list[Placeholders] = []
        render_started = time.perf_counter()
        # one decode, every output of the source: one span, an event per output made
        with tracing.span("darkroom.source.render", source=index, outputs=len(specs)) as render:
            rendered = imaging.render(
                data,
                specs,
                limits,
                on_progress=rendered_so_far,
                facts=probed,
                analyzer=analyzer,
                on_placeholders=placeholders.append if job.spec.get("placeholders") else None,
                page=page,
            )
            for op, result in zip(ops, rendered, strict=True):
                render.event("output", op=op, format=result.format.value, bytes=len(result.data))
        _record_outputs(ops, rendered, time.perf_counter() - render_started)
        if placeholders:
            facts[-1] = with_placeholders(facts[-1], placeholders[-1])
            on_facts(facts)
        if pairs:
            pages.append(data)
        del data
        made = iter(rendered)
        for out, each in zip(per_source, specs_of, strict=True):
            name = output_name(out.name, index, count)
            records.append(_store(blobs, job.id, name, index, out, [next(made) for _ in each]))
    for done, out in enumerate(pairs, start=1):
        spec = pair_spec(out, pair_defaults.width, pair_defaults.gap, pair_defaults.skip_edges)
        pair_started = time.perf_counter()
        with tracing.span("darkroom.pair.render", output=out.name, sources=count):
            cover = imaging.compose_pair(pages, spec, limits, analyzer or Analyzer())
        _record_outputs([out.op.value], [cover.rendered], time.perf_counter() - pair_started)
        record = _store(blobs, job.id, out.name, None, out, [cover.rendered])
        records.append({**record, "pair": pair_record(cover)})
        report(count * steps_per_source + done)
    return records


def _size_of(data: imaging.ImageInput) -> int:
    return len(data) if isinstance(data, bytes) else data.stat().st_size


def _record_outputs(ops: list[str], rendered: list[imaging.Rendered], seconds: float) -> None:
    """Outputs made by one render: each is given an equal share of its time."""
    share = seconds / max(1, len(rendered))
    for op, result in zip(ops, rendered, strict=True):
        metrics.output_made(op, result.format.value, share, len(result.data))


def _store(
    blobs: BlobStore,
    job_id: str,
    name: str,
    source: int | None,
    out: OutputIn,
    results: list[imaging.Rendered],
) -> OutputRecord:
    """Write an output, in each of its formats, and return its record: the first
    format's, with every one's in ``formats`` when it asked for several."""
    formats = [result.format.value for result in results]
    with tracing.span("darkroom.output.store", output=name, op=out.op.value, formats=formats):
        stored = [_store_format(blobs, job_id, name, result) for result in results]
    first = stored[0]
    record: OutputRecord = {
        "name": name,
        "source": source,
        "op": out.op.value,
        "format": first["format"],
        "width": first["width"],
        "height": first["height"],
        "frames": first["frames"],
        "bytes": first["bytes"],
        "key": first["key"],
    }
    if "quality" in first:
        record["quality"] = first["quality"]
    if results[0].crop:
        record["crop"] = crop_record(results[0].crop)
    if out.formats:
        record["formats"] = stored
    return record


def _store_format(
    blobs: BlobStore, job_id: str, name: str, result: imaging.Rendered
) -> FormatRecord:
    key = keys.output_key(job_id, name, result.format)
    blobs.put(key, result.data)
    record: FormatRecord = {
        "format": result.format.value,
        "key": key,
        "width": result.width,
        "height": result.height,
        "frames": result.frames,
        "bytes": len(result.data),
    }
    if result.quality is not None:
        record["quality"] = result.quality
    return record
