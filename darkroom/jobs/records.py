"""What a job row keeps as JSON: its spec, its sources, what the worker learnt of them and
the outputs it made. These are the stored form, read back from rows of every age (a key
added since the first rows were written is NotRequired); the API's schemas
(api/schemas.py) are the public form, and the request models (jobs/spec.py) what clients
send. The functions at the end turn a request's outputs and imaging's results into
records, for the service and the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict, cast

if TYPE_CHECKING:  # the store reads records without loading libvips
    from darkroom.imaging import Crop, PairCover, SourceFacts
    from darkroom.imaging.pair import PairPage
    from darkroom.imaging.placeholders import Placeholders
    from darkroom.jobs.spec import OutputIn


class FocusSpec(TypedDict):
    x: float
    y: float


class RegionSpec(TypedDict):
    x: int
    y: int
    width: int
    height: int


class OutputSpec(TypedDict):
    """One output asked for: an OutputIn as JSON (its enums as their values)."""

    name: str
    preset: NotRequired[str | None]
    op: str
    width: int | None
    height: int | None
    gravity: str
    format: str | None
    formats: NotRequired[list[str] | None]
    quality: int | None
    keep_metadata: bool
    focus: NotRequired[FocusSpec | None]
    max_analysis_size: NotRequired[int | None]
    enlarge: NotRequired[bool]
    rotate: NotRequired[int]
    flip: NotRequired[str | None]
    region: NotRequired[RegionSpec | None]
    fit: NotRequired[str]
    background: NotRequired[str | None]
    blur: NotRequired[float | None]
    sharpen: NotRequired[float | None]
    trim: NotRequired[float | None]
    dpr: NotRequired[float]
    watermark: NotRequired[dict[str, Any] | None]  # WatermarkIn as JSON
    progressive: NotRequired[bool]
    lossless: NotRequired[bool]
    effort: NotRequired[int | None]
    max_bytes: NotRequired[int | None]
    keep_icc: NotRequired[bool]
    gap: NotRequired[int | None]
    skip_edges: NotRequired[int | None]
    text_soft_ratio: NotRequired[float]
    text_hard_ratio: NotRequired[float]
    return_candidates: NotRequired[bool]


class JobSpec(TypedDict):
    # an expired job's spec is erased to {} (store/job_writes.py expire)
    outputs: NotRequired[list[OutputSpec]]
    placeholders: NotRequired[bool]  # written only when asked
    page: NotRequired[int]  # written only when asked
    request_id: NotRequired[str]  # X-Request-ID of the submitting request, for worker logs
    traceparent: NotRequired[str]  # the submission's W3C trace context (darkroom/tracing.py)


class BlobSourceRef(TypedDict):
    """An uploaded image, kept in the blob store under ``key``."""

    kind: Literal["blob"]
    key: str
    filename: str | None


class PathSourceRef(TypedDict):
    """A file under the input root, ``path`` relative to it."""

    kind: Literal["path"]
    path: str
    filename: str


class UrlSourceRef(TypedDict):
    """An image the worker downloads."""

    kind: Literal["url"]
    url: str
    filename: str | None


SourceRef = BlobSourceRef | PathSourceRef | UrlSourceRef


class SourceFactsRecord(TypedDict):
    """imaging.SourceFacts of one source: what its header says, its size and digest."""

    format: str
    width: int
    height: int
    orientation: int
    has_icc_profile: bool
    frames: int
    bytes: int
    sha256: str
    # with "placeholders": true, once the worker has decoded the source
    blurhash: NotRequired[str]
    thumbhash: NotRequired[str]
    dominant_color: NotRequired[str]


class CropRecord(TypedDict):
    """Where a cover output was cut from, in displayed source pixels, and what placed it."""

    x: int
    y: int
    width: int
    height: int
    method: str
    confidence: float | None


class PageBoxRecord(TypedDict):
    x: int
    y: int
    width: int
    height: int


class PairPageRecord(TypedDict):
    """A page of a pair cover's analysis; ``index`` is its place among the sources."""

    index: int
    score: float
    text_ratio: float
    in_edge: bool
    box: PageBoxRecord
    text_source: NotRequired[str]


class PairRecord(TypedDict):
    picked: list[PairPageRecord]
    candidates: list[PairPageRecord] | None
    fallback_used: bool
    warning: str | None


class FormatRecord(TypedDict):
    """One format an output asking for several (``formats``) was stored in, under ``key``."""

    format: str
    key: str
    width: int
    height: int
    frames: int
    bytes: int
    quality: NotRequired[int]


class OutputRecord(TypedDict):
    """An output made and stored under ``key``; ``source`` is None for a pair cover. One
    asking for several formats has each in ``formats``, in its order; the record's own
    ``format``, ``key``, sizes and quality are the first's."""

    name: str
    source: int | None
    op: str
    format: str
    width: int
    height: int
    frames: int
    bytes: int
    key: str
    quality: NotRequired[int]  # a lossy format's quality (max_bytes' choice)
    crop: NotRequired[CropRecord]
    pair: NotRequired[PairRecord]
    formats: NotRequired[list[FormatRecord]]


def output_spec(out: OutputIn) -> OutputSpec:
    # model_dump writes every field of OutputIn, which OutputSpec lists
    return cast("OutputSpec", out.model_dump(mode="json"))


def source_facts_record(facts: SourceFacts) -> SourceFactsRecord:
    return {
        "format": facts.format,
        "width": facts.width,
        "height": facts.height,
        "orientation": facts.orientation,
        "has_icc_profile": facts.has_icc_profile,
        "frames": facts.frames,
        "bytes": facts.bytes,
        "sha256": facts.sha256,
    }


def source_facts_of(record: SourceFactsRecord) -> SourceFacts:
    """The imaging facts ``record`` holds (not its placeholders)."""
    from darkroom.imaging import SourceFacts

    return SourceFacts(
        format=record["format"],
        width=record["width"],
        height=record["height"],
        orientation=record["orientation"],
        has_icc_profile=record["has_icc_profile"],
        frames=record["frames"],
        bytes=record["bytes"],
        sha256=record["sha256"],
    )


def with_placeholders(record: SourceFactsRecord, made: Placeholders) -> SourceFactsRecord:
    return {
        **record,
        "blurhash": made.blurhash,
        "thumbhash": made.thumbhash,
        "dominant_color": made.dominant_color,
    }


def crop_record(crop: Crop) -> CropRecord:
    return {
        "x": crop.left,
        "y": crop.top,
        "width": crop.width,
        "height": crop.height,
        "method": crop.method,
        "confidence": crop.confidence,
    }


def pair_page_record(page: PairPage) -> PairPageRecord:
    return {
        "index": page.index,
        "score": page.score,
        "text_ratio": page.text_ratio,
        "in_edge": page.in_edge,
        "box": {
            "x": page.box.x,
            "y": page.box.y,
            "width": page.box.width,
            "height": page.box.height,
        },
        "text_source": page.text_source,
    }


def pair_record(cover: PairCover) -> PairRecord:
    candidates = cover.candidates
    return {
        "picked": [pair_page_record(p) for p in cover.picked],
        "candidates": [pair_page_record(c) for c in candidates] if candidates is not None else None,
        "fallback_used": cover.fallback_used,
        "warning": cover.warning,
    }
