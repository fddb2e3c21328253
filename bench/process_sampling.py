"""What the bench reads of processes from /proc: peak memory and CPU time.

PeakSampler records the peak RSS (VmHWM) of every process of a tree while it runs;
CpuWindow measures the CPU time of the processes measured and how many cores the rest
of the machine kept busy with other work meanwhile (the "others" column).
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ProcPeak:
    pid: int
    label: str
    peak_kib: int

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024


def read_status_kib(pid: int | str, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def process_label(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    if not argv:
        return "?"
    argv[0] = os.path.basename(argv[0])
    if len(argv) > 1 and argv[0].startswith("python"):
        argv[1] = os.path.basename(argv[1]) if argv[1].startswith("/") else argv[1]
    text = " ".join(argv)
    return text if len(text) <= 70 else text[:67] + "..."


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the process's name (state, ppid, pgrp, …); None
    once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def all_stat_fields() -> Iterator[tuple[int, list[str]]]:
    """Each live process's pid and stat fields."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := stat_fields(int(entry.name))) is not None:
            yield int(entry.name), fields


def descendants(roots: Iterable[int]) -> list[int]:
    """The roots and every process below them, found through the ppid in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for pid, fields in all_stat_fields():
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(pid)
    seen: list[int] = []
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.append(pid)
        stack.extend(children.get(pid, []))
    return seen


class PeakSampler:
    """Samples VmHWM of a process tree in a thread so short-lived children are counted."""

    def __init__(self, roots: Sequence[int], interval: float = 0.25) -> None:
        self.roots = list(roots)
        self.interval = interval
        self.peaks: dict[int, ProcPeak] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        for pid in descendants(self.roots):
            hwm = read_status_kib(pid, "VmHWM")
            if hwm is None:
                continue
            known = self.peaks.get(pid)
            if known is None:
                self.peaks[pid] = ProcPeak(pid, process_label(pid), hwm)
            elif hwm > known.peak_kib:
                known.peak_kib = hwm

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def result(self) -> list[ProcPeak]:
        return sorted(self.peaks.values(), key=lambda p: p.pid)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores, steal excluded)."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, _steal = vals
    return (user + nice + system + irq + softirq) / CLK_TCK


def _tree_cpu_s(roots: Iterable[int]) -> float:
    total = 0
    for pid in descendants(roots):
        fields = stat_fields(pid)
        if fields is not None:
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK


def _self_cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def _own_cpu_s() -> float:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class CpuWindow:
    """How busy the machine was with work other than ours during a measured window.

    Ours = this process, its reaped children and the live process trees under `roots`.
    Others = everything else (other users' tests, builds). On a shared 2-core machine
    this is what makes one run slower than the next; it is printed beside every figure.
    """

    def __init__(self, roots: Sequence[int]) -> None:
        self.roots = list(roots)
        self.t0 = self.busy0 = self.ours0 = self.service0 = self.client0 = 0.0

    def _ours(self) -> float:
        return _own_cpu_s() + _tree_cpu_s(self.roots)

    def start(self) -> None:
        self.t0, self.busy0, self.ours0 = time.monotonic(), _machine_busy_s(), self._ours()
        self.service0 = _tree_cpu_s(self.roots)
        self.client0 = _self_cpu_s()

    def service_s(self) -> float:
        """CPU seconds the process trees under `roots` (the service measured) spent since
        start(): the cost of the work itself, steadier than wall time on a busy machine."""
        return _tree_cpu_s(self.roots) - self.service0

    def client_s(self) -> float:
        """CPU seconds this process (the bench's own HTTP client) spent since start()."""
        return _self_cpu_s() - self.client0

    def others(self) -> float:
        """Average number of cores busy with other work since start()."""
        wall = time.monotonic() - self.t0
        other = (_machine_busy_s() - self.busy0) - (self._ours() - self.ours0)
        return max(other, 0.0) / wall if wall > 0 else 0.0
