"""What a job row keeps as JSON: its spec, its sources, what the worker learnt of them and
the outputs it made. These are the stored form, read back from rows of every age (a key
added since the first rows were written is NotRequired); the API's schemas
(api/schemas.py) are the public form, and the request models (jobs/spec.py) what clients
send. The functions at the end turn a request's outputs and imaging's results into
records, for the service and the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict, cast

if TYPE_CHECKING:  # the store reads records without loading libvips
    from darkroom.imaging import Crop, PairCover, SourceFacts
    from darkroom.imaging.pair import PairPage
    from darkroom.jobs.spec import OutputIn


class FocusSpec(TypedDict):
    x: float
    y: float


class OutputSpec(TypedDict):
    """One output asked for: an OutputIn as JSON (its enums as their values)."""

    name: str
    op: str
    width: int | None
    height: int | None
    gravity: str
    format: str | None
    quality: int | None
    keep_metadata: bool
    focus: NotRequired[FocusSpec | None]
    max_analysis_size: NotRequired[int | None]
    enlarge: NotRequired[bool]
    gap: NotRequired[int | None]
    skip_edges: NotRequired[int | None]
    text_soft_ratio: NotRequired[float]
    text_hard_ratio: NotRequired[float]
    return_candidates: NotRequired[bool]


class JobSpec(TypedDict):
    # an expired job's spec is erased to {} (store/job_writes.py expire)
    outputs: NotRequired[list[OutputSpec]]


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


class OutputRecord(TypedDict):
    """An output made and stored under ``key``; ``source`` is None for a pair cover."""

    name: str
    source: int | None
    op: str
    format: str
    width: int
    height: int
    frames: int
    bytes: int
    key: str
    crop: NotRequired[CropRecord]
    pair: NotRequired[PairRecord]


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
