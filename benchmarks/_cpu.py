"""Where a machine's CPU time went during a benchmark, per group of processes (Linux ``/proc``).

The load benchmark runs the browsers on the same cores as the server; this says how much of the cores each side
took, so a latency figure can be read against what the server was left with.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one live process, or None when it is gone or unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime (fields 14 and 15 of proc(5))


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (``/proc/stat``), summed over cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS_PER_S


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def processes_matching(matches: Callable[[str], bool]) -> list[int]:
    """Ids of the live processes whose command line (arguments joined by spaces) satisfies ``matches``."""
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and matches(_command_line(int(entry)))]


def process_memory_mib(pid: int) -> dict[str, float]:
    """Resident and peak resident memory of one live process in MiB (``VmRSS``, ``VmHWM``), or {} when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {name: round(int(fields[key].split()[0]) / 1024, 1) for name, key in (("rss_mib", "VmRSS"), ("peak_rss_mib", "VmHWM"))}


class CpuAccount:
    """Samples every process a few times a second and adds up their CPU time per group.

    ``groups`` maps a group name to a predicate on a process's command line; processes that match none count as
    "other". A process's total is the last value seen before it exited, so up to one sampling interval of a short-lived
    process is missed. Use as a context manager around the measured work; ``report()`` afterwards.
    """

    def __init__(self, groups: dict[str, Callable[[str], bool]], interval_s: float = 0.25) -> None:
        self.groups, self.interval_s = groups, interval_s
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._group: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, first: bool = False) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            seconds = process_cpu_seconds(pid)
            if seconds is None:
                continue
            if pid not in self._group:
                self._start[pid] = seconds if first else 0.0  # a process born during the run counts from zero
            if self._group.get(pid, "other") == "other":
                # looked at again while unmatched: a child seen between fork and exec still shows its parent's command
                line = _command_line(pid)
                self._group[pid] = next((name for name, matches in self.groups.items() if matches(line)), "other")
            self._last[pid] = seconds

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> CpuAccount:
        self._busy_start, self._wall_start = machine_busy_seconds(), time.perf_counter()
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._busy, self._wall = machine_busy_seconds() - self._busy_start, time.perf_counter() - self._wall_start

    def report(self) -> dict[str, object]:
        """CPU seconds per group, the machine's busy CPU seconds, and each group's share of the cores' capacity."""
        per_group = dict.fromkeys([*self.groups, "other"], 0.0)
        for pid, group in self._group.items():
            per_group[group] += self._last[pid] - self._start[pid]
        capacity = self._wall * (os.cpu_count() or 1)
        return {
            "wall_s": round(self._wall, 1),
            "cpu_s": {name: round(seconds, 1) for name, seconds in per_group.items()},
            "machine_busy_cpu_s": round(self._busy, 1),
            "share_of_cores": {name: round(seconds / capacity, 3) for name, seconds in per_group.items()},
            "machine_busy_share": round(self._busy / capacity, 3),
        }
