"""Neuron gallery server time (JSON): a neuron page with 16 explained tiles, uncached, on the default model.

    python -m benchmarks.bench_gallery [--neurons 5]

Runs the page in-process with Streamlit's AppTest (as on the server). Each measured run opens a neuron not shown
before, so its tiles are explained from scratch (images are decoded from the data folder, the explanations are
one batched pass). Reports the median and the worst run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bcos_core.zoo import DEFAULT_MODEL

from ._timing import machine, print_report

ENTRY = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
LAYERS = ("block1.conv2", "block2.conv2", "block3.conv1", "block3.conv2")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--neurons", type=int, default=5, help="neurons opened per layer")
    args = parser.parse_args()
    before = machine()
    at = AppTest.from_file(ENTRY, default_timeout=300)
    at.query_params["g_layer"], at.query_params["neuron"] = LAYERS[0], "0"
    at.run()
    at.switch_page("app_pages/neuron_gallery.py").run()  # warm-up: model, index, first page
    assert not at.exception, at.exception
    page_times = []
    for layer in LAYERS:
        for channel in range(1, args.neurons + 1):
            at.session_state["g_layer"], at.session_state["neuron"] = layer, channel
            start = time.perf_counter()
            at.run()
            page_times.append(time.perf_counter() - start)
            assert not at.exception and len(at.get("image")) >= 16, at.exception
            assert at.subheader[0].value.startswith(f"{layer} · channel {channel}")
    figures = {"model": DEFAULT_MODEL, "pages": len(page_times), "page_median_s": round(statistics.median(page_times), 3)}
    print_report("neuron_gallery_page", {**figures, "page_max_s": round(max(page_times), 3)}, before)


if __name__ == "__main__":
    main()
