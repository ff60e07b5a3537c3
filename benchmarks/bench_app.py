"""Dashboard server time (JSON): cold start to the first rendered page, widget changes and rendering-option changes.

    python -m benchmarks.bench_app

Uses Streamlit's AppTest (the script runs in-process, as on the server); a browser adds only rendering.
"""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ._timing import machine, median_seconds, print_report

ENTRY = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def main() -> None:
    before = machine()
    start = time.perf_counter()
    at = AppTest.from_file(ENTRY, default_timeout=300).run()
    cold = time.perf_counter() - start
    assert not at.exception, at.exception
    classes = iter([3, 5, 1, 8, 0, 2, 9, 4, 6, 7] * 3)

    def change_class() -> None:
        at.selectbox(key="cls").set_value(next(classes)).run()

    uncached = median_seconds(change_class, repeats=7, warmup=1)  # the first ten classes are not cached yet
    cached = median_seconds(change_class, repeats=7, warmup=3)
    smoothings = iter([5, 7, 9, 11, 15, 1, 3] * 3)
    # a rendering option redraws the cached explanations (main map and the top-k grid), without the model
    render = median_seconds(lambda: at.select_slider(key="smooth").set_value(next(smoothings)).run(), repeats=7, warmup=1)
    at.switch_page("app_pages/neurons.py").run()
    channels = iter(range(1, 40))
    neuron = median_seconds(lambda: at.selectbox(key="ch").set_value(next(channels)).run(), repeats=5, warmup=1)
    print_report(
        "dashboard_server_time",
        {
            "cold_start_to_first_page_s": round(cold, 2),
            "class_change_uncached_ms": round(1000 * uncached, 1),
            "class_change_cached_ms": round(1000 * cached, 1),
            "smoothing_change_ms": round(1000 * render, 1),
            "neuron_channel_change_ms": round(1000 * neuron, 1),
        },
        before,
    )


if __name__ == "__main__":
    main()
