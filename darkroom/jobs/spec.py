"""The job request: what clients send, validated, and its translation to imaging specs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from darkroom.imaging import (
    Fit,
    Flip,
    Gravity,
    Operation,
    OutputFormat,
    PairSpec,
    Region,
    RenderSpec,
    WatermarkSpec,
)
from darkroom.imaging.pair import PAIR_ANALYSIS_SIZE
from darkroom.imaging.spec import DEFAULT_ANALYSIS_SIZE, SMART_GRAVITIES
from darkroom.jobs.bounds import MAX_RETENTION_S
from darkroom.jobs.presets import with_preset
from darkroom.jobs.records import JobSpec

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
MAX_SIDE = 65_000  # the largest source side darkroom reads
# Filters cost in proportion to their sigma per output pixel: bounded so that no output,
# however large DARKROOM_MAX_OUTPUT_PIXELS lets it be, takes unbounded work.
MAX_BLUR_SIGMA = 50.0
MAX_SHARPEN_SIGMA = 10.0
MIN_MAX_BYTES = 512
MAX_PAGE = 65_535
MAX_MAX_BYTES = 100 * 1024 * 1024
MAX_FORMATS = 4  # an output's `formats`
MAX_EFFORT = 9  # AVIF's slowest; WebP's is 6
EFFORT_FORMATS = frozenset({OutputFormat.WEBP, OutputFormat.AVIF})


def parse_colour(text: str) -> tuple[int, int, int, int]:
    """#rrggbb or #rrggbbaa as (r, g, b, a), each 0..255."""
    digits = text.removeprefix("#")
    rgba = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
    return (rgba[0], rgba[1], rgba[2], rgba[3] if len(rgba) == 4 else 255)


def _no_nul(text: str) -> str:
    """Text the store keeps in a column of its own: PostgreSQL refuses a NUL in one."""
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    return text


class SourceIn(BaseModel):
    """One input image: exactly one of ``url``, ``base64`` or ``path``."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, description="http(s) URL the worker downloads.")
    base64: str | None = Field(
        None, description="Image bytes, base64 (standard or URL-safe) or a data: URI."
    )
    filename: str | None = Field(None, max_length=255)
    path: str | None = Field(
        None, description="A file inside the server's DARKROOM_INPUT_ROOT, relative to it."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceIn:
        given = [k for k in ("url", "base64", "path") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a source needs exactly one of 'url', 'base64' or 'path'")
        if self.url is not None and not self.url.lower().startswith(("http://", "https://")):
            raise ValueError("source url must be http:// or https://")
        return self


class FocusIn(BaseModel):
    """A focal point, as fractions of the displayed picture: (0, 0) top left."""

    model_config = ConfigDict(extra="forbid")

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class RegionIn(BaseModel):
    """A rectangle of the source as displayed (EXIF orientation applied), in pixels."""

    model_config = ConfigDict(extra="forbid")

    x: int = Field(ge=0, le=MAX_SIDE)
    y: int = Field(ge=0, le=MAX_SIDE)
    width: int = Field(ge=1, le=MAX_SIDE)
    height: int = Field(ge=1, le=MAX_SIDE)


class WatermarkSourceIn(BaseModel):
    """Where a watermark's image comes from: exactly one of ``name`` (configured in
    DARKROOM_WATERMARKS), ``path`` (under DARKROOM_INPUT_ROOT) or ``blob`` (a key in
    darkroom's store, such as another job's output)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, pattern=NAME_PATTERN)
    path: str | None = Field(None, min_length=1, max_length=4096)
    blob: str | None = Field(None, min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _exactly_one(self) -> WatermarkSourceIn:
        given = [k for k in ("name", "path", "blob") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a watermark source needs exactly one of 'name', 'path' or 'blob'")
        return self


class WatermarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: WatermarkSourceIn
    gravity: Gravity = Field(Gravity.SOUTH_EAST, description="A compass point or centre.")
    opacity: float = Field(1.0, ge=0, le=1)
    scale: float = Field(
        0.25, gt=0, le=1, description="The watermark's width as a share of the output's."
    )
    margin: int = Field(0, ge=0, le=1000, description="Pixels from the output's edges.")

    @field_validator("gravity")
    @classmethod
    def _compass(cls, gravity: Gravity) -> Gravity:
        if gravity in SMART_GRAVITIES:
            raise ValueError("a watermark's gravity is a compass point or centre")
        return gravity


class OutputIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("default", pattern=NAME_PATTERN)
    preset: str | None = Field(
        None,
        pattern=NAME_PATTERN,
        description="A preset configured in DARKROOM_PRESETS: its fields, under those given "
        "here, which override them.",
    )
    op: Operation = Operation.THUMBNAIL
    width: int | None = Field(None, ge=1)
    height: int | None = Field(None, ge=1)
    gravity: Gravity = Field(
        Gravity.CENTRE,
        description="Where a cover crop sits: a compass point, or placed by looking at the "
        "picture: attention (edges, skin, saturation), entropy, faces, auto (faces when "
        "there are any, else attention), focus (centred on `focus`).",
    )
    focus: FocusIn | None = Field(
        None, description="Focal point for a cover crop; implies gravity 'focus'."
    )
    max_analysis_size: int | None = Field(
        None,
        ge=32,
        le=4096,
        description="Longest side, in pixels, of the copy a smart gravity or a pair "
        f"analyses. Default: {DEFAULT_ANALYSIS_SIZE} for a cover, "
        f"{PAIR_ANALYSIS_SIZE} for each page of a pair (lettering must stay legible).",
    )
    format: OutputFormat | None = Field(
        None,
        description="Output format; default: the source's when it is one, PNG for SVG and "
        "ICO sources, else jpeg.",
    )
    formats: list[OutputFormat] | None = Field(
        None,
        min_length=1,
        max_length=MAX_FORMATS,
        description="Instead of `format`: store the output in each of these (1 to 4, "
        "distinct), all made from the one decode. `format` in the answer is the first; "
        "`GET …/outputs/{name}` serves the best one the request's `Accept` allows "
        '(docs/api.md, "Serving outputs").',
    )
    quality: int | None = Field(None, ge=1, le=100)
    keep_metadata: bool = False
    enlarge: bool = Field(
        False,
        description="Scale a source smaller than the box up to it (thumbnail, cover, "
        "resize). Default: an output never has more pixels along a side than the source "
        "(or its region) has, and keeps the asked aspect ratio.",
    )
    rotate: Literal[0, 90, 180, 270] = Field(
        0, description="Degrees clockwise, after EXIF orientation and before the op."
    )
    flip: Flip | None = Field(None, description="Mirror after rotating.")
    region: RegionIn | None = Field(
        None, description="Cut this rectangle of the displayed source first, then apply the op."
    )
    fit: Fit = Field(
        Fit.CONTAIN,
        description="thumbnail: 'pad' makes the output exactly width x height, the picture "
        "centred in it and the rest filled with `background`.",
    )
    background: str | None = Field(
        None,
        pattern=r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$",
        description="#rrggbb or #rrggbbaa: what `fit: pad` fills with (default: white, or "
        "transparent where the format has alpha), and what transparency is flattened onto "
        "for JPEG (default white).",
    )
    blur: float | None = Field(
        None, ge=0.3, le=MAX_BLUR_SIGMA, description="Gaussian blur, sigma in output pixels."
    )
    sharpen: float | None = Field(
        None, ge=0.3, le=MAX_SHARPEN_SIGMA, description="Sharpen, sigma in output pixels."
    )
    trim: float | None = Field(
        None,
        ge=0,
        le=255,
        description="Cut away borders of one colour (the top-left pixel's), within this "
        "distance of it, before the op.",
    )
    dpr: float = Field(
        1.0, ge=1, le=4, description="Device pixel ratio: width and height are multiplied by it."
    )
    watermark: WatermarkIn | None = None
    progressive: bool = Field(False, description="Progressive JPEG; interlaced PNG.")
    lossless: bool = Field(False, description="Lossless WebP or AVIF.")
    effort: int | None = Field(
        None,
        ge=0,
        le=MAX_EFFORT,
        description="WebP and AVIF: how hard the encoder looks for a smaller file at the same "
        "quality, 0 (fastest) to 9 (AVIF; WebP's most is 6, and more counts as 6). Default: "
        "AVIF 0; WebP 0 up to 640x640 pixels, 4 above.",
    )
    max_bytes: int | None = Field(
        None,
        ge=MIN_MAX_BYTES,
        le=MAX_MAX_BYTES,
        description="JPEG, WebP, AVIF: lower the quality until the output fits; the "
        "output's `quality` says which was used.",
    )
    keep_icc: bool = Field(
        False, description="Keep the source's colour profile (keep_metadata keeps it too)."
    )
    # op "pair" only (docs/smart-crop.md); unset: the DARKROOM_PAIR_* settings
    gap: int | None = Field(None, ge=0, le=200, description="pair: pixels between the halves")
    skip_edges: int | None = Field(
        None, ge=0, le=50, description="pair: first and last pages penalised as covers/credits"
    )
    text_soft_ratio: float = Field(0.12, ge=0, le=1, description="pair: text share penalised")
    text_hard_ratio: float = Field(0.3, ge=0, le=1, description="pair: text share ranked last")
    return_candidates: bool = Field(False, description="pair: list every page's analysis")

    @model_validator(mode="before")
    @classmethod
    def _preset_fields(cls, data: Any, info: ValidationInfo) -> Any:
        """The preset's fields under the output's own, where the request is read with the
        configured presets (a validation context ``{"presets": …}``: the API's)."""
        presets = (info.context or {}).get("presets")
        if presets is not None and isinstance(data, dict) and data.get("preset") is not None:
            return with_preset(data, presets)
        return data

    @field_validator("gravity", mode="before")
    @classmethod
    def _spelling(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.lower().replace("-", "_")
            return {
                "center": "centre",
                "northeast": "north_east",
                "northwest": "north_west",
                "southeast": "south_east",
                "southwest": "south_west",
            }.get(value, value)
        return value

    @model_validator(mode="after")
    def _focus_means_focus(self) -> OutputIn:
        if self.focus is not None:
            if self.gravity not in (Gravity.CENTRE, Gravity.FOCUS):
                raise ValueError("give either a gravity or a focus point, not both")
            self.gravity = Gravity.FOCUS
        elif self.gravity is Gravity.FOCUS:
            raise ValueError("gravity 'focus' needs a focus point {x, y}")
        return self

    @model_validator(mode="after")
    def _sizes_for_op(self) -> OutputIn:
        if self.op in (Operation.RESIZE, Operation.COVER) and not (self.width and self.height):
            raise ValueError(f"op {self.op.value!r} needs both width and height")
        if self.op is Operation.THUMBNAIL and not (self.width or self.height):
            raise ValueError("op 'thumbnail' needs width, height or both")
        if self.op is Operation.PAIR and self.height is not None:
            raise ValueError("op 'pair' takes a width only: the cover is 16:9")
        return self

    @model_validator(mode="after")
    def _options_for_op(self) -> OutputIn:
        if self.fit is Fit.PAD and not (
            self.op is Operation.THUMBNAIL and self.width and self.height
        ):
            raise ValueError("fit 'pad' is for op 'thumbnail' with both width and height")
        if self.lossless and self.max_bytes is not None:
            raise ValueError("give either lossless or max_bytes, not both")
        chosen = self.formats or ([self.format] if self.format else [])
        for fmt in chosen:
            if self.lossless and fmt in (OutputFormat.JPEG, OutputFormat.GIF):
                raise ValueError(f"lossless is for webp, avif (and png); not {fmt.value}")
            if self.max_bytes is not None and fmt in (OutputFormat.PNG, OutputFormat.GIF):
                raise ValueError(
                    f"max_bytes lowers the quality of jpeg, webp or avif; {fmt.value} has none"
                )
        if self.effort is not None and chosen and not set(chosen) & EFFORT_FORMATS:
            raise ValueError("effort is for webp and avif outputs")
        return self

    @model_validator(mode="after")
    def _several_formats(self) -> OutputIn:
        if self.formats is None:
            return self
        if self.format is not None:
            raise ValueError("give either format or formats, not both")
        if len(set(self.formats)) != len(self.formats):
            raise ValueError("formats must be distinct")
        if self.op is Operation.PAIR:
            raise ValueError("op 'pair' makes one format: give format")
        return self

    def render_specs(self, watermark: WatermarkSpec | None = None) -> list[RenderSpec]:
        """The imaging specs of the output: one per format it is stored in."""
        spec = self.render_spec(watermark)
        return [replace(spec, format=fmt) for fmt in self.formats] if self.formats else [spec]

    def render_spec(self, watermark: WatermarkSpec | None = None) -> RenderSpec:
        """The imaging spec; ``watermark``: this output's watermark, its image read (the
        worker reads it; without it a spec for checking sizes has none)."""
        region = self.region
        return RenderSpec(
            op=self.op,
            width=self.width,
            height=self.height,
            gravity=self.gravity,
            format=self.format,
            quality=self.quality,
            keep_metadata=self.keep_metadata,
            enlarge=self.enlarge,
            focus=(self.focus.x, self.focus.y) if self.focus else None,
            max_analysis_size=self.max_analysis_size or DEFAULT_ANALYSIS_SIZE,
            rotate=self.rotate,
            flip=self.flip,
            region=Region(region.x, region.y, region.width, region.height) if region else None,
            fit=self.fit,
            background=parse_colour(self.background) if self.background else None,
            blur=self.blur,
            sharpen=self.sharpen,
            trim=self.trim,
            dpr=self.dpr,
            watermark=watermark,
            progressive=self.progressive,
            lossless=self.lossless,
            effort=self.effort,
            max_bytes=self.max_bytes,
            keep_icc=self.keep_icc,
        )


DEFAULT_OUTPUT = OutputIn(
    name="default",
    op=Operation.THUMBNAIL,
    width=512,
    height=512,
    format=OutputFormat.WEBP,
    quality=80,
)


class JobOptions(BaseModel):
    """Everything in a job request except its sources (the multipart ``spec`` part)."""

    model_config = ConfigDict(extra="forbid")

    outputs: list[OutputIn] | None = Field(
        None,
        description="Outputs to make. Default: one 512x512 WebP thumbnail named 'default'.",
    )
    webhook_url: str | None = Field(
        None,
        max_length=2048,
        description="POSTed a signed JSON description of the job when it succeeds or fails.",
    )
    idempotency_key: str | None = Field(None, min_length=1, max_length=200)
    retention_s: int | None = Field(
        None,
        ge=1,
        le=MAX_RETENTION_S,
        description="Delete the job's outputs and record this many seconds after it "
        "finishes, at most 50 years (1576800000). Default: DARKROOM_RETENTION_S (unset: "
        "kept until deleted).",
    )
    labels: dict[str, str] = Field(default_factory=dict)
    page: int | None = Field(
        None,
        ge=0,
        le=MAX_PAGE,
        description="The page of each source to use, from 0: a multi-page TIFF's page, or "
        "a frame of an animation as a still. Default: the first page (an animation stays "
        "animated where the output format can be).",
    )
    placeholders: bool = Field(
        False,
        description="Give each source's facts a `blurhash`, a `thumbhash` and a "
        "`dominant_color`, from the decode its outputs are made from.",
    )

    @field_validator("outputs")
    @classmethod
    def _unique_names(cls, outputs: list[OutputIn] | None) -> list[OutputIn] | None:
        if outputs is not None:
            if not outputs:
                raise ValueError("outputs, when given, must not be empty")
            names = [o.name for o in outputs]
            if len(set(names)) != len(names):
                raise ValueError("output names must be unique")
        return outputs

    @field_validator("webhook_url")
    @classmethod
    def _webhook_scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.lower().startswith(("http://", "https://")):
            raise ValueError("webhook_url must be http:// or https://")
        return url

    @field_validator("labels")
    @classmethod
    def _label_shape(cls, labels: dict[str, str]) -> dict[str, str]:
        if len(labels) > 32:
            raise ValueError("at most 32 labels")
        for key, value in labels.items():
            if not 1 <= len(key) <= 64 or ":" in key or len(value) > 256:
                raise ValueError("label keys are 1-64 characters without ':'; values <= 256")
            _no_nul(key + value)
        return labels

    @field_validator("idempotency_key")
    @classmethod
    def _key_text(cls, key: str | None) -> str | None:
        return None if key is None else _no_nul(key)

    def effective_outputs(self) -> list[OutputIn]:
        return self.outputs or [DEFAULT_OUTPUT]


class JobRequest(JobOptions):
    """A JSON job request: sources plus options."""

    source: SourceIn | None = None
    sources: list[SourceIn] | None = None

    @model_validator(mode="after")
    def _has_sources(self) -> JobRequest:
        if (self.source is None) == (not self.sources):
            raise ValueError("give either 'source' or a non-empty 'sources' list")
        return self

    def all_sources(self) -> list[SourceIn]:
        return [self.source] if self.source is not None else list(self.sources or [])


def pair_spec(out: OutputIn, width: int, gap: int, skip_edges: int) -> PairSpec:
    """The pair cover ``out`` asks for; the arguments are the configured defaults."""
    return PairSpec(
        width=out.width or width,
        gap=gap if out.gap is None else out.gap,
        skip_edges=skip_edges if out.skip_edges is None else out.skip_edges,
        text_soft_ratio=out.text_soft_ratio,
        text_hard_ratio=out.text_hard_ratio,
        max_analysis_size=out.max_analysis_size or PAIR_ANALYSIS_SIZE,
        return_candidates=out.return_candidates,
        format=out.format or OutputFormat.JPEG,
        quality=out.quality,
    )


def output_name(base: str, source_index: int, source_count: int) -> str:
    """Outputs of a one-source job keep their names; with several, each gets ``-<index>``."""
    return base if source_count == 1 else f"{base}-{source_index}"


def planned_output_names(spec: JobSpec, source_count: int) -> list[str]:
    outputs = spec.get("outputs", [])
    per_source = [o for o in outputs if o.get("op") != Operation.PAIR.value]
    return [
        output_name(o["name"], i, source_count) for i in range(source_count) for o in per_source
    ] + [o["name"] for o in outputs if o.get("op") == Operation.PAIR.value]


def request_fingerprint(options: JobOptions, source_digests: list[str]) -> str:
    """A digest of what a request asks for, to tell a replay from a conflicting reuse."""
    body = options.model_dump(mode="json", exclude={"idempotency_key"})
    body["sources"] = source_digests
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
