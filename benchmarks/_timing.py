"""Timing helpers shared by the benchmarks: warm-up, then repeated runs, medians and ratios with their spread."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import torch


def median_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_seconds(variants: dict[str, Callable[[], object]], repeats: int = 7, warmup: int = 2) -> dict[str, list[float]]:
    """Each variant's times, measured in turns (one run of each per round), so that a change in machine load during
    the benchmark affects every side alike."""
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def ratio(times: dict[str, list[float]], numerator: str, denominator: str) -> dict[str, object]:
    """Median of the per-round ratios and their range (min, max)."""
    ratios = sorted(a / b for a, b in zip(times[numerator], times[denominator]))
    return {"median": round(statistics.median(ratios), 3), "range": [round(ratios[0], 3), round(ratios[-1], 3)]}


_ALLOCATOR_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "LD_PRELOAD")


def machine() -> dict[str, object]:
    """What the reader needs to judge a figure: cores, the 1-minute load average when it was taken, and the memory
    allocator's settings (eager PyTorch on CPU spends much of its time allocating activation-sized buffers)."""
    allocator = {name: os.environ[name] for name in _ALLOCATOR_SETTINGS if name in os.environ}
    return {"cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2), "allocator": allocator or "default"}


def print_report(benchmark: str, figures: dict[str, object], before: dict[str, object] | None = None) -> None:
    """Print one benchmark's JSON report: its figures after the torch thread count and the machine's state (``before``:
    ``machine()`` taken before the measurement, printed beside the state now), so every figure is read with its load."""
    state = {"before": before, "after": machine()} if before is not None else machine()
    print(json.dumps({"benchmark": benchmark, "threads": torch.get_num_threads(), **state, **figures}, indent=2))


def run_per_model(description: str, benchmark: str, models: dict[str, tuple], measure: Callable[..., dict], repeats: int) -> None:
    """The command line of a benchmark measured per model (``--threads``, ``--repeats``, ``--models``): runs
    ``measure(*models[name], repeats)`` for each chosen model and prints one JSON report with the machine load."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--models", default=",".join(models), help=f"comma-separated, from {', '.join(models)}")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    before = machine()
    results = [measure(*models[name], args.repeats) for name in args.models.split(",")]
    print_report(benchmark, {"repeats": args.repeats, "models": results}, before)
