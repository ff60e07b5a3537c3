"""The benchmarks' shared timing and reporting: per-round ratios, turns between variants, and reports that carry the
thread count and the machine load with every figure."""

from __future__ import annotations

import json

import torch

from benchmarks._timing import interleaved_seconds, machine, print_report, ratio


def test_ratio_is_the_median_of_per_round_ratios_with_their_range() -> None:
    times = {"ours": [2.0, 3.0, 10.0], "reference": [1.0, 1.0, 2.0]}
    assert ratio(times, "ours", "reference") == {"median": 3.0, "range": [2.0, 5.0]}


def test_interleaved_variants_run_in_turns() -> None:
    calls: list[str] = []
    times = interleaved_seconds({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1)
    assert calls == ["a", "b"] * 4
    assert {name: len(values) for name, values in times.items()} == {"a": 3, "b": 3}


def test_a_report_shows_threads_and_load_beside_the_figures(capsys) -> None:
    print_report("example", {"median_ms": 1.5})
    report = json.loads(capsys.readouterr().out)
    assert report["benchmark"] == "example" and report["median_ms"] == 1.5
    assert report["threads"] == torch.get_num_threads()
    assert isinstance(report["load_average_1min"], float) and report["cpu_count"] >= 1


def test_a_report_with_the_state_before_shows_both(capsys) -> None:
    before = {**machine(), "load_average_1min": -1.0}
    print_report("example", {"seconds": 2}, before)
    report = json.loads(capsys.readouterr().out)
    assert report["before"]["load_average_1min"] == -1.0
    assert report["after"]["load_average_1min"] >= 0 and report["seconds"] == 2
