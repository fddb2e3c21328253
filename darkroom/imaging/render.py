"""Rendering outputs from one source, decoding it once for many outputs where memory allows.

A lone output streams straight from the decoder (shrink-on-load, sequential access).
Several outputs share one decode, scaled to the largest size any of them needs and
held in memory, unless that would exceed SHARED_DECODE_MAX_PIXELS; an output too
large to share (a full-size convert, say) streams from its own decode instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from darkroom.imaging.decode import decoder_pixels, open_source, retry_leniently
from darkroom.imaging.encode import EncodeOptions, encode_output
from darkroom.imaging.errors import CorruptImage
from darkroom.imaging.geometry import Box, Geometry, Size, round_half_up, to_stored
from darkroom.imaging.libvips import VImage, libvips_errors
from darkroom.imaging.placeholders import Placeholders, placeholders_of
from darkroom.imaging.placement import analysis_scale, fixed_crop, smart_region
from darkroom.imaging.plan import OutputPlan, plan_output
from darkroom.imaging.probe import Header, header_from_facts, read_header
from darkroom.imaging.runtime import release_freed_memory
from darkroom.imaging.source import ImageInput
from darkroom.imaging.spec import (
    Crop,
    Limits,
    Operation,
    OutputFormat,
    Rendered,
    RenderSpec,
    SourceFacts,
)
from darkroom.imaging.steps.filters import filtered
from darkroom.imaging.steps.pad import pad, pad_colour
from darkroom.imaging.steps.trim import trimmed_area
from darkroom.imaging.steps.watermark import apply_watermark
from darkroom.imaging.transform import (
    crop_and_resize,
    first_frame,
    frame_count,
    map_frames,
    orient,
    page_height,
    resize_exact,
    to_srgb,
)
from darkroom.smart import Analyzer

# A shared decode is held in memory: 16 MP is 48 MiB at 3 bands, 64 MiB at 4.
SHARED_DECODE_MAX_PIXELS = 16_000_000
# Longest side of the decode placeholders are made from when the outputs' is not held.
PLACEHOLDER_DECODE_SIZE = 256
# After a decoder produced this many pixels, freed buffers go back to the system (runtime).
RELEASE_AFTER_PIXELS = 4_000_000


@dataclass(frozen=True)
class _Decoded:
    image: VImage  # stored orientation; every frame when an output is animated
    in_memory: bool


def render(
    source: ImageInput,
    specs: Sequence[RenderSpec],
    limits: Limits,
    on_progress: Callable[[int], None] | None = None,
    *,
    facts: SourceFacts | None = None,
    analyzer: Analyzer | None = None,
    on_placeholders: Callable[[Placeholders], None] | None = None,
    page: int | None = None,
) -> list[Rendered]:
    """One Rendered per spec, in order; ``on_progress(n_done)`` after each.

    ``source`` is the image's bytes or the path of a file, which is then read as it is
    decoded, never held whole. ``facts``, what ``probe`` reported for these very bytes,
    spares parsing the header again. ``analyzer`` places smart crops (a worker keeps one;
    one is made here when needed and not given). ``on_placeholders`` is given the
    source's placeholders, made from the first decode (held in memory for it). ``page``:
    the page of a multi-page source to render (a TIFF's, a frame of an animation, as a
    still), ``facts`` then being that page's; None: the first, or every frame. Raises
    SourceUnreadable, UnsupportedImage, CorruptImage, ImageTooLarge, OutputTooLarge or
    InvalidSpec; limits and specs are checked from the header before any pixel is decoded.
    """
    header = (
        read_header(source, limits, page)
        if facts is None
        else header_from_facts(facts, limits, page)
    )
    plans = [plan_output(spec, header, limits) for spec in specs]
    results: dict[int, Rendered] = {}
    groups = _decode_groups(plans, header)
    largest = max((_decoder_pixels([plans[i] for i in g], header) for g in groups), default=0)
    if analyzer is None and any(plan.smart for plan in plans):
        analyzer = Analyzer()
    try:
        for number, group in enumerate(groups):
            members = {i: plans[i] for i in group}
            wanted = on_placeholders if number == 0 else None
            for index, rendered in _render_group(source, header, members, analyzer, wanted):
                results[index] = rendered
                if on_progress is not None:
                    on_progress(len(results))
    finally:
        if largest >= RELEASE_AFTER_PIXELS:
            release_freed_memory()
    return [results[index] for index in range(len(plans))]


def convert(
    source: ImageInput,
    fmt: OutputFormat | None,
    width: int | None,
    quality: int | None,
    limits: Limits,
) -> Rendered:
    """Re-encode ``source`` (an output fetched with ?format=&width=&quality=).

    ``width`` downscales keeping the aspect ratio, never upscaling; None keeps the size.
    """
    if width is None:
        spec = RenderSpec(Operation.CONVERT, format=fmt, quality=quality)
    else:
        spec = RenderSpec(Operation.THUMBNAIL, width=width, format=fmt, quality=quality)
    return render(source, [spec], limits)[0]


def _decode_groups(plans: Sequence[OutputPlan], header: Header) -> list[list[int]]:
    """Indices of plans to render from one decode each: the large ones alone, the rest shared."""
    alone: list[list[int]] = []
    shared: list[int] = []
    for index, plan in enumerate(plans):
        if _held_pixels([*(plans[i] for i in shared), plan], header) <= SHARED_DECODE_MAX_PIXELS:
            shared.append(index)
        else:
            alone.append([index])
    return alone + ([shared] if shared else [])


def _held_pixels(plans: Sequence[OutputPlan], header: Header) -> int:
    """Pixels of a decode shared by ``plans``, scaled to the largest size they need."""
    scale = max(plan.scale for plan in plans)
    frames = header.frames if any(plan.animated for plan in plans) else 1
    return round_half_up(header.stored.pixels * scale * scale) * frames


def _decoder_pixels(plans: Sequence[OutputPlan], header: Header) -> int:
    """Pixels the decoder itself produces for ``plans``, before any resize."""
    scale = max(plan.scale for plan in plans)
    return decoder_pixels(header, scale, any(plan.animated for plan in plans))


def _render_group(
    source: ImageInput,
    header: Header,
    plans: dict[int, OutputPlan],
    analyzer: Analyzer | None,
    on_placeholders: Callable[[Placeholders], None] | None,
) -> Iterator[tuple[int, Rendered]]:
    """The group's outputs from a strict decode (a JPEG scan cut short fails); once more
    from a lenient one if the strict decode failed for anything else (decode.open_source).
    An output may then come twice: the later one is the same picture."""
    try:
        yield from _render_decoded(source, header, plans, analyzer, on_placeholders, strict=True)
    except CorruptImage as exc:
        if not retry_leniently(header, exc):
            raise
        yield from _render_decoded(source, header, plans, analyzer, on_placeholders, strict=False)


def _render_decoded(
    source: ImageInput,
    header: Header,
    plans: dict[int, OutputPlan],
    analyzer: Analyzer | None,
    on_placeholders: Callable[[Placeholders], None] | None,
    *,
    strict: bool,
) -> Iterator[tuple[int, Rendered]]:
    all_frames = any(plan.animated for plan in plans.values())
    keep_metadata = any(plan.keep_metadata for plan in plans.values())
    scale = max(plan.scale for plan in plans.values())
    with libvips_errors(context="decoding failed"):
        opened = open_source(source, header, scale, all_frames, keep_metadata, strict=strict)
        # A smart crop looks at the pixels before they are rendered: hold the (output-sized)
        # decode in memory rather than decode twice, unless it is too large to hold.
        # so do placeholders, made from the same decode
        # A lone output that shows the whole picture gives placeholders from its own
        # resized pixels: its decode can stream.
        lone = next(iter(plans.values())) if len(plans) == 1 else None
        from_output = on_placeholders is not None and lone is not None and _shows_all(lone)
        looked_at = (on_placeholders is not None and not from_output) or any(
            plan.smart or plan.trims for plan in plans.values()
        )
        holdable = _held_pixels(list(plans.values()), header) <= SHARED_DECODE_MAX_PIXELS
        if len(plans) == 1 and not (looked_at and holdable):
            decoded = _Decoded(opened, in_memory=False)
        else:
            decoded = _Decoded(_shared_decode(opened, header, scale), in_memory=True)
    resized: Callable[[VImage], None] | None = None
    if on_placeholders is not None and from_output:
        wanted = on_placeholders

        def resized(image: VImage) -> None:
            wanted(placeholders_of(image, header.orientation))

    elif on_placeholders is not None:
        with libvips_errors(context="making placeholders failed"):
            sample = (
                decoded.image if decoded.in_memory else _placeholder_decode(source, header, strict)
            )
            on_placeholders(placeholders_of(sample, header.orientation))
    for index, plan in plans.items():
        view = plan.view or header
        geometry = plan.geometry
        within = plan.area or Box.whole(view.displayed)
        placed: tuple[Box, Crop] | None = None
        if plan.smart or plan.trims:
            with libvips_errors(context="analysing failed"):
                # A streamed decode can be read once: analyse a small decode of its own.
                sample = (
                    decoded.image
                    if decoded.in_memory
                    else _analysis_decode(source, header, plan, strict)
                )
                if plan.trims:
                    assert plan.spec is not None and plan.spec.trim is not None
                    within = trimmed_area(
                        sample, view.orientation, within, view.displayed.width, plan.spec.trim
                    )
                    geometry = plan.replanned(within)
                if plan.smart:
                    assert analyzer is not None
                    placed = smart_region(sample, view, plan, geometry.region, within, analyzer)
        with libvips_errors(context="rendering failed"):
            rendered = _render_one(decoded, header, plan, geometry, placed, resized)
        yield index, rendered


def _shows_all(plan: OutputPlan) -> bool:
    """The output is the whole source, undistorted (what placeholders describe)."""
    view = plan.view
    whole = view is None or plan.geometry.region == Box.whole(view.displayed)
    undistorted = plan.op in (Operation.THUMBNAIL, Operation.CONVERT)
    return whole and undistorted and plan.area is None and not plan.trims


def _analysis_decode(source: ImageInput, header: Header, plan: OutputPlan, strict: bool) -> VImage:
    return open_source(source, header, analysis_scale(header, plan), False, False, strict=strict)


def _placeholder_decode(source: ImageInput, header: Header, strict: bool) -> VImage:
    """A small decode of its own, where the outputs' decode is streamed (too large to hold)."""
    scale = min(1.0, PLACEHOLDER_DECODE_SIZE / max(header.stored))
    return open_source(source, header, scale, False, False, strict=strict)


def _shared_decode(source: VImage, header: Header, scale: float) -> VImage:
    size = Size(
        max(1, round_half_up(header.stored.width * scale)),
        max(1, round_half_up(header.stored.height * scale)),
    )
    scaled = map_frames(source, lambda frame: resize_exact(frame, size))
    return to_srgb(scaled).copy_memory()


def _render_one(
    decoded: _Decoded,
    header: Header,
    plan: OutputPlan,
    geometry: Geometry,
    placed: tuple[Box, Crop] | None,
    on_resized: Callable[[VImage], None] | None = None,
) -> Rendered:
    """The output's steps (steps/__init__.py) on the decode: cut and resize, turn, pad,
    filter, watermark, encode. ``on_resized`` sees the image once resized, still in the
    stored orientation."""
    view = plan.view or header
    image = decoded.image if plan.animated else first_frame(decoded.image)
    frame = Size(int(image.width), page_height(image))
    displayed_region, crop = placed if placed is not None else (geometry.region, None)
    region = to_stored(displayed_region, view.displayed, view.orientation).scaled(
        frame.width / header.stored.width, frame.height / header.stored.height
    )
    output = geometry.output
    stored_output = output.transposed() if view.quarter_turned else output
    image = map_frames(image, lambda f: crop_and_resize(f, region, stored_output))
    if on_resized is not None:
        with libvips_errors(context="making placeholders failed"):
            image = image.copy_memory()  # looked at twice: for placeholders, then encoded
            on_resized(image)
    if view.orientation != 1:
        # Turning needs random access; by now the image is output-sized.
        image = orient(image if decoded.in_memory else image.copy_memory(), view.orientation)
    image = to_srgb(image)
    spec = plan.spec
    if spec is not None:
        if geometry.canvas is not None:
            image = pad(image, geometry.canvas, pad_colour(spec.background, plan.format))
        image = filtered(image, spec.blur, spec.sharpen)
        if spec.watermark is not None:
            image = apply_watermark(image, spec.watermark)
    encoded = encode_output(image, plan.encoding or EncodeOptions(plan.format, plan.quality))
    return Rendered(
        data=encoded.data,
        format=plan.format,
        width=int(image.width),
        height=page_height(image),
        frames=frame_count(image) if plan.animated else 1,
        crop=crop or fixed_crop(plan, geometry.region),
        quality=encoded.quality,
    )
