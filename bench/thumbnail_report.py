"""One run's figures (Result) and what the bench prints from them.

The table of images/s per mode and source kind with the ratios to the raw loop and to
thumbor, the peak RSS of every server process, the targets, the best of repeated runs
and darkroom's ratios to each baseline run by run, with their median.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.process_sampling import ProcPeak

RSS_TARGET_MIB = 150.0


@dataclass
class Result:
    mode: str
    kind: str
    images: int = 0
    seconds: float = 0.0
    failed: int = 0
    peaks: list[ProcPeak] = field(default_factory=list)
    error: str = ""
    note: str = ""
    other_cores: float | None = None
    service_cpu_s: float | None = None
    client_cpu_s: float | None = None  # the bench's own process (its HTTP client)
    output_bytes: int = 0  # all succeeded outputs together
    # some sources' outputs, by source file name and output name (for the SSIM check)
    samples: dict[str, dict[str, bytes]] = field(default_factory=dict, repr=False)

    def _per_image(self, total: float | None, scale: float) -> float | None:
        done = self.images - self.failed
        return None if total is None or done <= 0 else scale * total / done

    @property
    def client_ms_per_image(self) -> float | None:
        return self._per_image(self.client_cpu_s, 1000)

    @property
    def kib_per_image(self) -> float | None:
        return self._per_image(self.output_bytes or None, 1 / 1024)

    @property
    def cpu_ms_per_image(self) -> float | None:
        return self._per_image(self.service_cpu_s, 1000)

    @property
    def rate(self) -> float | None:
        if self.error or self.seconds <= 0 or self.images == 0:
            return None
        return (self.images - self.failed) / self.seconds

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["samples"]
        d["images_per_s"] = self.rate
        return d


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def report(results: list[Result], workers: int, thumbnail_targets: bool = True) -> list[str]:
    """The table; ``thumbnail_targets``: with the first scenario's targets (the others'
    are judged by bench/scenarios.py)."""
    rates = {(r.mode, r.kind): r.rate for r in results}
    lines = [
        f"{'mode':<15} {'source':<7} {'images':>6} {'failed':>6} {'seconds':>8} {'images/s':>9} "
        f"{'vs raw':>7} {'vs thumbor':>10} {'max peak RSS':>13} {'others':>6} {'cpu ms/img':>10}"
        f" {'client ms':>9} {'KiB/image':>9}"
    ]
    for r in results:
        raw = rates.get(("raw", r.kind))
        thumbor = rates.get(("thumbor", r.kind))
        vs_raw = r.rate / raw if r.rate and raw and r.mode != "raw" else None
        vs_th = r.rate / thumbor if r.rate and thumbor and r.mode != "thumbor" else None
        peak = max((p.peak_mib for p in r.peaks), default=None)
        lines.append(
            f"{r.mode:<15} {r.kind:<7} {r.images:>6} {r.failed:>6} "
            f"{_fmt(r.seconds if r.rate else None, '.2f'):>8} {_fmt(r.rate, '.2f'):>9} "
            f"{_fmt(vs_raw, '.2f'):>7} {_fmt(vs_th, '.2f'):>10} "
            f"{_fmt(peak, '.0f') + ' MiB' if peak else '-':>13} {_fmt(r.other_cores, '.2f'):>6} "
            f"{_fmt(r.cpu_ms_per_image, '.1f'):>10} {_fmt(r.client_ms_per_image, '.1f'):>9}"
            f" {_fmt(r.kib_per_image, '.1f'):>9}"
        )
    lines.append(
        f"(processes per mode: {workers}; images/s = images / wall seconds; others = cores"
        " busy with other programs during the timed window, averaged; cpu ms/img = CPU time"
        " of the server processes (darkroom: API and workers; thumbor: its processes) per"
        " image, not counting the bench's own client; client ms = CPU time of the bench's own"
        " process (its HTTP client) per image; KiB/image = mean size of one image's outputs"
        " together)"
    )
    for r in results:
        if r.error or r.note:
            text = "; ".join(x for x in (f"ERROR {r.error}" if r.error else "", r.note) if x)
            lines.append(f"{r.mode}/{r.kind}: {text}")
    for r in results:
        if r.mode == "raw" or not r.peaks:
            continue
        lines.append(f"peak RSS (VmHWM) of every {r.mode} process, {r.kind} run:")
        for p in r.peaks:
            over = r.mode.startswith("darkroom") and p.peak_mib > RSS_TARGET_MIB
            flag = "  > 150 MiB" if over else ""
            lines.append(f"  pid {p.pid:>7} {p.peak_mib:8.1f} MiB  {p.label}{flag}")
    if thumbnail_targets:
        lines += _targets(results, rates)
    return lines


def _targets(results: list[Result], rates: dict[tuple[str, str], float | None]) -> list[str]:
    out = []
    dr, raw, th = (rates.get((m, "jpeg")) for m in ("darkroom", "raw", "thumbor"))
    if dr and raw:
        ok = "met" if dr / raw >= 0.9 else "NOT met"
        out.append(f"target darkroom >= 0.9 x raw (jpeg): {dr / raw:.2f} {ok}")
    if dr and th:
        ok = "met" if dr / th >= 1.0 else "NOT met"
        out.append(f"target darkroom >= 1.0 x thumbor (jpeg): {dr / th:.2f} {ok}")
    one = rates.get(("darkroom-1", "jpeg"))
    if dr and one:
        ok = "met" if dr / one >= 1.8 else "NOT met"
        out.append(f"target darkroom, --workers N >= 1.8 x 1 worker (jpeg): {dr / one:.2f} {ok}")
    png = next((r for r in results if r.mode == "darkroom" and r.kind == "png" and r.peaks), None)
    if png:
        peak = max(p.peak_mib for p in png.peaks)
        ok = "met" if peak <= RSS_TARGET_MIB else "NOT met"
        out.append(f"target every darkroom process <= 150 MiB (png run): {peak:.0f} MiB {ok}")
    return ["targets:", *("  " + line for line in out)] if out else []


def best_of(runs: list[Result]) -> Result:
    """The fastest run; peak RSS from the run with the highest peak (worst case)."""
    ok = [r for r in runs if r.rate]
    if not ok:
        return runs[0]
    best = max(ok, key=lambda r: r.rate or 0.0)
    if len(runs) > 1:
        worst = max(ok, key=lambda r: max((p.peak_kib for p in r.peaks), default=0))
        best.peaks = worst.peaks
        rates = ", ".join(
            f"{r.rate:.2f} ({r.other_cores or 0:.2f})" if r.rate else "failed" for r in runs
        )
        best.note += f"; best of {len(runs)} runs, images/s (others): {rates}"
    return best


def paired_ratios(kind: str, runs: dict[str, list[Result]]) -> list[str]:
    """darkroom's rate over each baseline's, run by run: modes of one repetition ran back to
    back, so each pair saw about the same machine, which best-of figures do not promise."""
    lines = []
    for base in ("raw", "thumbor", "darkroom-1"):
        pairs = zip(runs.get("darkroom", []), runs.get(base, []), strict=False)
        ratios = [d.rate / b.rate for d, b in pairs if d.rate and b.rate]
        if len(ratios) > 1:
            listed = ", ".join(f"{r:.2f}" for r in ratios)
            lines.append(
                f"darkroom / {base} ({kind}) run by run: {listed}; "
                f"median {statistics.median(ratios):.2f}"
            )
    return lines
