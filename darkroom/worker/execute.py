"""One attempt at one job: load each source, render its outputs, store them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from darkroom import imaging
from darkroom.blobs import BlobStore
from darkroom.jobs import keys
from darkroom.jobs.model import Job
from darkroom.jobs.spec import OutputIn, output_name
from darkroom.outbound import OutboundGuard
from darkroom.smart import Analyzer
from darkroom.worker.fetch import FetchError, download


@dataclass(frozen=True)
class SourceLoader:
    blobs: BlobStore
    http: httpx.Client
    guard: OutboundGuard
    input_root: Path | None
    max_bytes: int
    timeout_s: float
    max_redirects: int

    def load(self, source: dict[str, Any]) -> imaging.ImageInput:
        """The source's bytes; or, for a large file on this machine, its path, so that the
        decoder streams it instead of holding it all in memory."""
        kind = source["kind"]
        if kind == "blob":
            path = self.blobs.local_path(source["key"])
            return _read_if_small(path) if path else self.blobs.get(source["key"])
        if kind == "path":
            if self.input_root is None:
                raise FetchError("source_unavailable", "this worker has no DARKROOM_INPUT_ROOT")
            relative: str = source["path"]
            path = (self.input_root / relative).resolve()
            if not path.is_relative_to(self.input_root.resolve()):
                raise FetchError("source_unavailable", "path outside the input folder")
            return _read_if_small(path)
        return download(
            self.http,
            self.guard,
            source["url"],
            max_bytes=self.max_bytes,
            timeout_s=self.timeout_s,
            max_redirects=self.max_redirects,
        )


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


def execute(
    job: Job,
    loader: SourceLoader,
    blobs: BlobStore,
    limits: imaging.Limits,
    *,
    on_facts: Callable[[list[dict[str, Any]]], object],
    on_progress: Callable[[int], object],
    analyzer: Analyzer | None = None,
) -> list[dict[str, Any]]:
    """Run ``job`` and return its output records. Raises ImageError or FetchError."""
    outputs_in = [OutputIn.model_validate(o) for o in job.spec["outputs"]]
    specs = [o.render_spec() for o in outputs_in]
    count = len(job.sources)
    steps_per_source = len(specs) + 1
    total_steps = count * steps_per_source
    known = job.source_facts or []
    facts: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []

    for index, source in enumerate(job.sources):
        first_step = index * steps_per_source

        def report(steps_done: int, first: int = first_step) -> None:
            on_progress(min(99, 5 + 90 * (first + steps_done) // total_steps))

        data = loader.load(source)
        # Uploads were probed at submission and their stored bytes never change; a file or
        # a URL is probed on every attempt, since it may have changed since the last one.
        # render checks the limits again from these facts.
        probed = (
            imaging.SourceFacts(**known[index])
            if source["kind"] == "blob" and index < len(known)
            else imaging.probe(data, limits)
        )
        facts.append(probed.to_dict())
        on_facts(facts)
        report(1)
        rendered = imaging.render(
            data,
            specs,
            limits,
            on_progress=lambda n: report(1 + n),
            facts=probed,
            analyzer=analyzer,
        )
        del data
        for out, result in zip(outputs_in, rendered, strict=True):
            name = output_name(out.name, index, count)
            key = keys.output_key(job.id, name, result.format)
            blobs.put(key, result.data)
            records.append(
                {
                    "name": name,
                    "source": index,
                    "op": out.op.value,
                    "format": result.format.value,
                    "width": result.width,
                    "height": result.height,
                    "frames": result.frames,
                    "bytes": len(result.data),
                    "key": key,
                    **({"crop": result.crop.to_dict()} if result.crop else {}),
                }
            )
    return records
