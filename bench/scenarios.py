"""The throughput bench's scenarios: a workload, the source kinds, the modes compared and
the target each comparison is held to.

``thumbnail`` is the original bench (one 500 px WebP; modes and kinds from the command
line). The others are issue 19's: a responsive set against thumbor, uploads against path
sources, AVIF against thumbor's AVIF (with the outputs' SSIM), small images against the
raw library loop, and the memory of every process on 48 MP PNGs with the responsive set.
Every ratio is taken run by run (the modes of one repetition run back to back) and
judged by its median.
"""

from __future__ import annotations

import io
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyvips
from PIL import Image

from bench.thumbnail_report import RSS_TARGET_MIB, Result
from bench.thumbnail_sources import IMAGES
from bench.workloads import AVIF, RESPONSIVE, SMALL, THUMBNAIL, Output, Workload


@dataclass(frozen=True)
class Target:
    numerator: str  # mode
    denominator: str  # mode
    minimum: float | None  # None: a ratio reported, not judged
    what: str


@dataclass(frozen=True)
class Scenario:
    name: str
    workload: Workload
    kinds: tuple[str, ...]  # empty: --kinds
    modes: tuple[str, ...]  # empty: --mode
    targets: tuple[Target, ...] = ()
    memory_target: bool = False  # every darkroom process <= RSS_TARGET_MIB
    ssim: bool = False  # compare the outputs' SSIM (numerator's against denominator's)
    # sources per kind (the first N of that kind), unless --count says otherwise: enough
    # for a few seconds a run, so that start and end transients stay small
    counts: tuple[tuple[str, int], ...] = ()


SSIM_TOLERANCE = 0.005

SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("thumbnail", THUMBNAIL, (), ()),
        Scenario(
            "responsive",
            RESPONSIVE,
            ("jpeg24", "jpeg2"),
            ("darkroom", "thumbor"),
            (Target("darkroom", "thumbor", 2.5, "responsive set, darkroom / thumbor"),),
            counts=(("jpeg24", 40), ("jpeg2", 200)),
        ),
        Scenario(
            "upload",
            THUMBNAIL,
            ("jpeg5mb", "jpeg2"),
            ("darkroom", "darkroom-upload"),
            (Target("darkroom-upload", "darkroom", 0.90, "uploads / path sources"),),
            counts=(("jpeg5mb", 120), ("jpeg2", 600)),
        ),
        Scenario(
            "avif",
            AVIF,
            ("jpeg24",),
            ("darkroom", "thumbor"),
            (Target("darkroom", "thumbor", 1.5, "AVIF, darkroom / thumbor"),),
            ssim=True,
            counts=(("jpeg24", 40),),
        ),
        Scenario(
            "small",
            SMALL,
            ("jpeg2",),
            ("raw", "raw-darkroom", "darkroom"),
            (
                Target("darkroom", "raw", 0.95, "small images, darkroom / raw loop"),
                # the same render() in a plain loop: what the service itself costs
                Target("darkroom", "raw-darkroom", None, "small images, darkroom / its own engine"),
            ),
            counts=(("jpeg2", 600),),
        ),
        Scenario("memory", RESPONSIVE, ("png",), ("darkroom",), memory_target=True),
    )
}
ALL = ("responsive", "upload", "avif", "small", "memory")


def paired(runs: dict[str, list[Result]], numerator: str, denominator: str) -> list[float]:
    """``numerator``'s rate over ``denominator``'s, repetition by repetition."""
    pairs = zip(runs.get(numerator, []), runs.get(denominator, []), strict=False)
    return [n.rate / d.rate for n, d in pairs if n.rate and d.rate]


def cpu_paired(runs: dict[str, list[Result]], numerator: str, denominator: str) -> list[float]:
    """``denominator``'s service CPU per image over ``numerator``'s, repetition by
    repetition: the rate ratio as CPU time sees it, which other programs on the machine
    disturb much less than wall time."""
    pairs = zip(runs.get(numerator, []), runs.get(denominator, []), strict=False)
    return [
        d.cpu_ms_per_image / n.cpu_ms_per_image
        for n, d in pairs
        if n.cpu_ms_per_image and d.cpu_ms_per_image
    ]


def judged(scenario: Scenario, kind: str, runs: dict[str, list[Result]]) -> list[str]:
    """The scenario's target lines for one source kind."""
    lines = []
    for target in scenario.targets:
        ratios = paired(runs, target.numerator, target.denominator)
        if not ratios:
            lines.append(f"{target.what} ({kind}): no pair of runs completed")
            continue
        median = statistics.median(ratios)
        listed = ", ".join(f"{r:.2f}" for r in ratios)
        cpu = cpu_paired(runs, target.numerator, target.denominator)
        if cpu:
            listed += f"; by CPU per image, median {statistics.median(cpu):.2f}"
        if target.minimum is None:
            lines.append(f"{target.what} ({kind}): median {median:.2f} (run by run: {listed})")
            continue
        verdict = "met" if median >= target.minimum else "NOT met"
        lines.append(
            f"target {target.what} ({kind}) >= {target.minimum}: median {median:.2f} "
            f"{verdict} (run by run: {listed})"
        )
    if scenario.ssim and scenario.targets:
        first = scenario.targets[0]
        lines += _ssim_lines(scenario.workload, runs, first.numerator, first.denominator)
    if scenario.memory_target:
        peaks = [p.peak_mib for r in runs.get("darkroom", []) for p in r.peaks]
        if peaks:
            verdict = "met" if max(peaks) <= RSS_TARGET_MIB else "NOT met"
            lines.append(
                f"target every darkroom process <= {RSS_TARGET_MIB:.0f} MiB ({kind}, "
                f"{scenario.workload.described}): {max(peaks):.0f} MiB {verdict}"
            )
    return lines


def _ssim_lines(
    workload: Workload, runs: dict[str, list[Result]], numerator: str, denominator: str
) -> list[str]:
    """Mean SSIM of each mode's outputs against a reference made from the full-size
    decode (libvips' Lanczos3 reduce, no shrink-on-load), over the sources both kept."""
    try:
        from skimage.metrics import structural_similarity  # noqa: F401
    except ImportError:
        return ["SSIM not compared: it needs scikit-image (.venv/bin/pip install -e '.[eval]')"]
    mine = _samples(runs.get(numerator, []))
    theirs = _samples(runs.get(denominator, []))
    names = sorted(set(mine) & set(theirs))
    lines = []
    for output in workload.outputs:
        pairs = [
            (_ssim(mine[n][output.name], ref), _ssim(theirs[n][output.name], ref))
            for n in names
            for ref in [_reference(IMAGES / n, output)]
        ]
        if not pairs:
            continue
        a = statistics.fmean(p[0] for p in pairs)
        b = statistics.fmean(p[1] for p in pairs)
        size_a = statistics.fmean(len(mine[n][output.name]) for n in names) / 1024
        size_b = statistics.fmean(len(theirs[n][output.name]) for n in names) / 1024
        verdict = "met" if a >= b - SSIM_TOLERANCE else "NOT met"
        lines.append(
            f"target SSIM within {SSIM_TOLERANCE} of {denominator}'s ({output.name}, "
            f"{len(pairs)} images): {numerator} {a:.4f} ({size_a:.1f} KiB), {denominator} "
            f"{b:.4f} ({size_b:.1f} KiB), difference {a - b:+.4f} {verdict}"
        )
    return lines


def _samples(results: list[Result]) -> dict[str, dict[str, bytes]]:
    merged: dict[str, dict[str, bytes]] = {}
    for result in results:
        merged.update(result.samples)
    return merged


def _reference(path: Path, output: Output) -> np.ndarray:
    full = pyvips.Image.new_from_file(str(path))
    return _pixels(full.thumbnail_image(output.box, height=output.box))


def _ssim(data: bytes, reference: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image.convert("RGB"))
    if pixels.shape != reference.shape:
        height = min(pixels.shape[0], reference.shape[0])
        width = min(pixels.shape[1], reference.shape[1])
        pixels, reference = pixels[:height, :width], reference[:height, :width]
    similarity = structural_similarity(  # type: ignore[no-untyped-call]
        reference, pixels, channel_axis=2, data_range=255
    )
    return float(similarity)


def _pixels(image: pyvips.Image) -> np.ndarray:
    image = image.colourspace("srgb")[:3]
    return np.ndarray(
        buffer=image.write_to_memory(),
        dtype=np.uint8,
        shape=[image.height, image.width, image.bands],
    )
