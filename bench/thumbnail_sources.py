"""The bench's source images: which ones a run uses, and generating them once.

Photo-like JPEGs and PNGs made with pyvips into ``bench/.work/images/`` and reused; every
file is distinct (size, crop, tint), so no cache can serve one image for another. KINDS
lists them: large JPEGs (24-36 MP) and PNGs (48 MP) for the thumbnail bench, and fixed
24 MP, ~5 MB and 2 MP (~300 KB) JPEGs for the other scenarios. Also where the bench keeps
its files (bench/.work) and the 500 px thumbnail of the first scenario (expected_thumb).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyvips

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / ".work"
IMAGES = WORK / "images"

BOX = 500
QUALITY = 80
RECIPE = "v1"  # bump when the generator changes so cached files are regenerated


@dataclass(frozen=True)
class Kind:
    """A kind of source: base sizes (each image shaves a few pixels off its class), the
    file format and, for JPEG, its quality."""

    classes: tuple[tuple[int, int], ...]
    format: str  # jpeg | png
    quality: int = 90


KINDS = {
    # 24, 28, 33, 36 MP, 8-12 MB
    "jpeg": Kind(((6000, 4000), (6480, 4320), (7008, 4672), (7360, 4912)), "jpeg"),
    "png": Kind(((8000, 6000),), "png"),  # 48 MP, ~41 MB
    "jpeg24": Kind(((6000, 4000),), "jpeg"),  # 24 MP, ~7.9 MB
    "jpeg5mb": Kind(((4800, 3200),), "jpeg"),  # 15 MP, ~5 MB
    "jpeg2": Kind(((1736, 1152),), "jpeg", quality=80),  # 2 MP, ~300 KB
}


@dataclass(frozen=True)
class Source:
    kind: str  # a key of KINDS
    index: int  # >= 10_000 for warm-up images
    width: int
    height: int
    base: tuple[int, int]

    @property
    def name(self) -> str:
        prefix = "warm-" if self.index >= 10_000 else ""
        ext = "jpg" if KINDS[self.kind].format == "jpeg" else "png"
        return f"{prefix}{self.kind}-{RECIPE}-{self.index:05d}-{self.width}x{self.height}.{ext}"

    @property
    def path(self) -> Path:
        return IMAGES / self.name

    @property
    def expected_thumb(self) -> tuple[int, int]:
        scale = min(BOX / self.width, BOX / self.height)
        return round(self.width * scale), round(self.height * scale)


def plan_sources(kind: str, count: int, warm: bool = False) -> list[Source]:
    out = []
    for n in range(count):
        i = n + 10_000 if warm else n
        classes = KINDS[kind].classes
        base = classes[n % len(classes)]
        k = (i // len(classes)) % 16
        out.append(Source(kind, i, base[0] - 8 * k, base[1] - 8 * k, base))
    return out


def _scene(width: int, height: int, seed: int, grain: float) -> pyvips.Image:
    """Smooth colour blobs + a gradient + film grain: compresses like a photograph."""
    cw, ch = width // 48 + 2, height // 48 + 2
    bands = [
        pyvips.Image.gaussnoise(cw, ch, sigma=60, mean=128, seed=seed * 3 + b) for b in range(3)
    ]
    img = bands[0].bandjoin(bands[1:]).resize(48, kernel="cubic").crop(0, 0, width, height)
    xy = pyvips.Image.xyz(width, height)
    img = img + (xy[0] * (90 / width) + xy[1] * (50 / height) - 70)
    if grain:
        tile = pyvips.Image.gaussnoise(509, 509, sigma=grain, mean=0, seed=seed + 99_991)
        img = img + tile.replicate(width // 509 + 1, height // 509 + 1).crop(0, 0, width, height)
    return img.cast("uchar").copy_memory()


_scene_cache: dict[tuple[str, int, int], pyvips.Image] = {}


def _generate_one(src: Source) -> str:
    key = (src.kind, *src.base)
    if key not in _scene_cache:
        _scene_cache.clear()  # one scene in memory at a time (~150 MB for 48 MP)
        seed = sum(src.base) + (7 if src.kind == "png" else 0)
        grain = 5 if KINDS[src.kind].format == "jpeg" else 0
        _scene_cache[key] = _scene(src.base[0] + 8, src.base[1] + 8, seed=seed, grain=grain)
    # Different crop, size and tint per image: every file is distinct, no cache can help.
    dx, dy = (src.index * 3) % 8, (src.index * 5) % 8
    tint = src.index % 11
    img = _scene_cache[key].crop(dx, dy, src.width, src.height)
    img = img.linear([1.0, 0.97 + 0.005 * tint, 1.0], [tint, 0, -tint]).cast("uchar")
    tmp = src.path.with_name(src.path.name + ".part" + src.path.suffix)
    if KINDS[src.kind].format == "jpeg":
        img.jpegsave(str(tmp), Q=KINDS[src.kind].quality)
    else:
        img.pngsave(str(tmp), filter="sub")
    tmp.replace(src.path)
    return src.name


def generate(sources: Sequence[Source], processes: int, regen: bool) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    todo = [s for s in sources if regen or not s.path.exists()]
    if not todo:
        return
    todo.sort(key=lambda s: (s.kind, s.base, s.index))
    print(f"generating {len(todo)} source images in {IMAGES} ...", flush=True)
    t0 = time.monotonic()
    with mp.get_context("spawn").Pool(processes) as pool:
        for n, _ in enumerate(pool.imap_unordered(_generate_one, todo), 1):
            if n % 10 == 0 or n == len(todo):
                print(f"  {n}/{len(todo)}", flush=True)
    print(f"generated in {time.monotonic() - t0:.1f} s", flush=True)


def touch(sources: Sequence[Source]) -> None:
    """Read every source once, just before a timed window, so that every mode starts from
    the same warm page cache. On this bench's VMs, memory left untouched for some 20 s
    costs several times as much to read again (a cached 5 MB file: ~10 ms instead of 1),
    so without this, whichever mode reads the files first inside its window pays for it
    (docs/performance.md, "Cold memory")."""
    for src in sources:
        src.path.read_bytes()
