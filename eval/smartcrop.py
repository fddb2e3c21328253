"""How well each cover gravity keeps the subject of a picture, and what it costs.

Two labelled sets, each case a picture, a subject box and a crop aspect ratio:

* generated: a textured, colourful subject (disc, square or skin-toned ellipse) placed at a
  known position on a quieter background (gradient, soft blobs, fine noise), cropped to
  an aspect ratio that makes the crop slide along the picture's long axis. Positions are
  spread from edge to edge, so that in many cases the centre crop keeps under half of the
  subject;
* photographs: scikit-image's sample pictures (astronaut, cat, coffee, rocket, cameraman)
  with subject boxes labelled by hand, at two aspect ratios each.

and generated chapters (eval/pages.py) for the pair cover.

For each gravity (centre, attention, entropy, faces, auto) it prints the share of cases
that keep at least 90 % of the subject inside the crop, the same for the cases where the
centre crop keeps under half of it, and the time per image through darkroom's real
render path (one thread). A last section times the analysis on 12 MP JPEGs: the same
cover output with a fixed and with each smart gravity, run after run.

    .venv/bin/pip install -e '.[eval]'
    .venv/bin/python -m eval.smartcrop --cases 200

With ``--yolo-model model.pt`` (and the ``yolo`` extra installed), auto also asks that
model for objects, and pages with text classes are measured by it: the way to judge a
model before configuring it with THUMBNAIL_YOLO_MODEL.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyvips

from darkroom import imaging
from darkroom.imaging import Gravity, Limits, Operation, RenderSpec
from darkroom.smart import Analyzer
from darkroom.smart.detectors import open_detector
from darkroom.smart.yolo import YoloSettings

METHODS = ["centre", "attention", "entropy", "faces", "auto"]
KEEP = 0.9
LIMITS = Limits()


@dataclass(frozen=True)
class Case:
    name: str
    jpeg: bytes
    size: tuple[int, int]  # width, height
    subject: tuple[int, int, int, int]  # x, y, width, height
    aspect: tuple[int, int]  # output width, height


def kept(subject: tuple[int, int, int, int], crop: imaging.Crop) -> float:
    """Share of the subject box inside the crop."""
    sx, sy, sw, sh = subject
    left, top = max(sx, crop.left), max(sy, crop.top)
    right = min(sx + sw, crop.left + crop.width)
    bottom = min(sy + sh, crop.top + crop.height)
    inside = max(0, right - left) * max(0, bottom - top)
    return inside / (sw * sh)


def jpeg_of(pixels: np.ndarray) -> bytes:
    image = pyvips.Image.new_from_array(np.ascontiguousarray(pixels), interpretation="srgb")
    data: bytes = image.jpegsave_buffer(Q=90)
    return data


# ------------------------------------------------------------------------ generated set


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(60, 190, 3)
    tilt = rng.uniform(-40, 40, 3)
    angle = rng.uniform(0, np.pi)
    ramp = (np.cos(angle) * xx / width + np.sin(angle) * yy / height)[..., None]
    picture = base + tilt * ramp
    for _ in range(rng.integers(2, 6)):  # soft, large, low-contrast blobs
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.15, 0.4) * min(width, height)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))[..., None]
        picture += blob * rng.uniform(-25, 25, 3)
    picture += rng.normal(0, 4, picture.shape)  # sensor-like fine noise
    return picture


def _subject(rng: np.random.Generator, picture: np.ndarray, box: tuple[int, int, int, int]) -> None:
    x, y, w, h = box
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    kind = rng.integers(0, 3)
    if kind == 0:  # disc
        mask = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2 <= 1
    elif kind == 1:  # square
        mask = np.ones((h, w), bool)
    else:  # ellipse
        mask = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2.2)) ** 2 <= 1
    cell = max(4, int(min(w, h) / rng.uniform(6, 14)))
    pattern = ((xx // cell + yy // cell) % 2).astype(bool)
    one, two = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    one[rng.integers(0, 3)] = 235  # saturated
    two[rng.integers(0, 3)] = 20
    texture = np.where(pattern[..., None], one, two)
    region = picture[y : y + h, x : x + w]
    region[mask] = texture[mask]


def generated_cases(count: int, seed: int = 7) -> list[Case]:
    rng = np.random.default_rng(seed)
    shapes = [((1600, 900), (1, 1)), ((1600, 900), (4, 5)), ((900, 1600), (16, 9)),
              ((1200, 800), (9, 16)), ((800, 1200), (4, 3))]  # fmt: skip
    cases = []
    for n in range(count):
        (width, height), aspect = shapes[n % len(shapes)]
        ratio = aspect[0] / aspect[1]
        crop_w = min(width, round(height * ratio))
        crop_h = min(height, round(width / ratio))
        side = int(rng.uniform(0.15, 0.3) * min(width, height))
        w, h = side, int(side * rng.uniform(0.8, 1.2))
        w, h = min(w, crop_w - 2), min(h, crop_h - 2)
        # spread along the axis the crop slides on, anywhere on the other
        x = int(rng.uniform(0, 1) ** 1 * (width - w))
        y = int(rng.uniform(0, 1) * (height - h))
        picture = _background(rng, width, height)
        _subject(rng, picture, (x, y, w, h))
        pixels = picture.clip(0, 255).astype(np.uint8)
        cases.append(Case(f"gen-{n}", jpeg_of(pixels), (width, height), (x, y, w, h), aspect))
    return cases


# ------------------------------------------------------------------------ photographs

# Subject boxes labelled by hand on the pictures as scikit-image ships them.
PHOTOS = {
    "astronaut": ((175, 60, 100, 105), [(16, 9), (9, 16)]),  # her face
    "chelsea": ((130, 80, 220, 190), [(1, 1), (4, 5)]),  # the cat's face
    "coffee": ((175, 20, 235, 230), [(1, 1), (3, 4)]),  # the cup
    "rocket": ((300, 125, 45, 285), [(1, 1), (9, 16)]),  # the rocket
    "camera": ((155, 65, 175, 135), [(16, 9), (9, 16)]),  # his head and the camera
}


def photo_cases() -> list[Case]:
    import skimage.data

    cases = []
    for name, (subject, aspects) in PHOTOS.items():
        pixels = getattr(skimage.data, name)()
        if pixels.ndim == 2:
            pixels = np.stack([pixels] * 3, axis=-1)
        height, width = pixels.shape[:2]
        for aspect in aspects:
            label = f"{name}-{aspect[0]}x{aspect[1]}"
            cases.append(Case(label, jpeg_of(pixels[..., :3]), (width, height), subject, aspect))
    return cases


# ------------------------------------------------------------------------ running


def run(cases: list[Case], analyzer: Analyzer) -> dict[str, list[tuple[float, float]]]:
    """Per method: (kept share, seconds) for every case."""
    results: dict[str, list[tuple[float, float]]] = {m: [] for m in METHODS}
    for case in cases:
        w, h = case.aspect
        scale = 400 / max(w, h)
        for method in METHODS:
            spec = RenderSpec(
                Operation.COVER,
                width=max(1, round(w * scale)),
                height=max(1, round(h * scale)),
                gravity=Gravity(method),
                format=imaging.OutputFormat.JPEG,
            )
            started = time.perf_counter()
            [rendered] = imaging.render(case.jpeg, [spec], LIMITS, analyzer=analyzer)
            elapsed = time.perf_counter() - started
            assert rendered.crop is not None
            results[method].append((kept(case.subject, rendered.crop), elapsed))
    return results


def report(title: str, cases: list[Case], results: dict[str, list[tuple[float, float]]]) -> None:
    centre = [k for k, _ in results["centre"]]
    hard = [i for i, k in enumerate(centre) if k < 0.5]
    print(f"\n{title}: {len(cases)} cases, {len(hard)} where the centre crop keeps < 50 %")
    print(f"{'method':<10} {'kept>=90%':>10} {'hard cases':>11} {'ms/image':>9}")
    for method, rows in results.items():
        ok = sum(1 for k, _ in rows if k >= KEEP) / len(rows)
        hard_ok = sum(1 for i in hard if rows[i][0] >= KEEP) / len(hard) if hard else float("nan")
        ms = statistics.median(t for _, t in rows) * 1000
        print(f"{method:<10} {ok:>9.1%} {hard_ok:>10.1%} {ms:>9.1f}")


def analysis_cost(analyzer: Analyzer, repeats: int) -> None:
    """Cover 400x400 from 12 MP JPEGs: each smart gravity against centre, run by run."""
    rng = np.random.default_rng(3)
    sources = []
    for _ in range(3):
        picture = _background(rng, 4000, 3000)
        _subject(rng, picture, (int(rng.uniform(0, 3000)), 1000, 800, 800))
        sources.append(jpeg_of(picture.clip(0, 255).astype(np.uint8)))
    print("\n12 MP JPEG -> 400x400 cover, ms per image (median of the runs), one thread:")
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(repeats):
        for method in METHODS:  # interleaved, so drift hits every method alike
            spec = RenderSpec(Operation.COVER, width=400, height=400, gravity=Gravity(method))
            for data in sources:
                started = time.perf_counter()
                imaging.render(data, [spec], LIMITS, analyzer=analyzer)
                times[method].append(time.perf_counter() - started)
    base = statistics.median(times["centre"]) * 1000
    for method in METHODS:
        ms = statistics.median(times[method]) * 1000
        print(f"  {method:<10} {ms:7.1f} ms   analysis adds {ms - base:+6.1f} ms")


def chapters(count: int, analyzer: Analyzer) -> None:
    """Pair covers of generated chapters: how often both picked pages are art-heavy pages
    outside the first and last two."""
    from eval.pages import chapter

    rng = np.random.default_rng(11)
    good, times, text_ranked_last = 0, [], 0
    for _ in range(count):
        pages = chapter(rng, int(rng.integers(8, 17)))
        data = [jpeg_of(page.pixels) for page in pages]
        started = time.perf_counter()
        cover = imaging.compose_pair(
            data, imaging.PairSpec(return_candidates=True), LIMITS, analyzer
        )
        times.append(time.perf_counter() - started)
        picked = cover.picked
        if all(pages[p.index].kind == "art" and not p.in_edge for p in picked):
            good += 1
        assert cover.candidates is not None
        texts = [c for c in cover.candidates if pages[c.index].kind == "text"]
        arts = [c for c in cover.candidates if pages[c.index].kind == "art"]
        if texts and arts and max(c.text_ratio for c in arts) < min(c.text_ratio for c in texts):
            text_ranked_last += 1
    print(f"\nchapters: {count} generated, 8-16 pages each (covers first and last)")
    print(f"  both picked pages art-heavy and outside the edges: {good / count:.1%}")
    separated = text_ranked_last / count
    print(f"  text ratio separates every text page from every art page: {separated:.1%}")
    print(f"  ms per chapter (median): {statistics.median(times) * 1000:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=200, help="generated cases")
    parser.add_argument("--repeats", type=int, default=5, help="runs of the 12 MP timing")
    parser.add_argument("--chapters", type=int, default=50, help="generated chapters")
    parser.add_argument("--yolo-model", type=Path, help="a YOLO model file for auto and pages")
    parser.add_argument("--yolo-device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--yolo-confidence", type=float, default=0.25)
    parser.add_argument("--yolo-image-size", type=int, default=640)
    args = parser.parse_args()
    pyvips.concurrency_set(1)
    analyzer = Analyzer()
    if args.yolo_model is not None:
        settings = YoloSettings(
            args.yolo_model, args.yolo_device, args.yolo_confidence, args.yolo_image_size
        )
        analyzer = Analyzer(partial(open_detector, settings))
        print(f"auto and pages with {analyzer.detector()!r}")
    generated = generated_cases(args.cases)
    report("generated", generated, run(generated, analyzer))
    photos = photo_cases()
    report("photographs (scikit-image)", photos, run(photos, analyzer))
    analysis_cost(analyzer, args.repeats)
    chapters(args.chapters, analyzer)


if __name__ == "__main__":
    main()
