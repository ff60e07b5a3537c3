"""Circuit speed (JSON): the library calls side by side, and the dashboard's "what feeds this" panel in server time.

    python -m benchmarks.bench_circuits [--threads 2] [--repeats 7]

Library, on the shipped default model and a sample photo, interleaved per round: one class explained to the pixels
(``explain``), one class by the channels of ``block3.conv1`` (``explain_channels``), and a three-layer circuit with the top
8 channels per layer (``explain_circuit``: 3 backward passes). Dashboard (Streamlit's AppTest, in-process as on the
server): the class page rerun after choosing another layer for the panel (the panel's own work: its channel
contributions and up to 8 tiles of contribution maps and top images), and after choosing another class (the class's
explanations, the panel and its circuit graph (switched on), nothing cached).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

import bcos_core
from app.images import load_image
from bcos_core.circuits import explain_channels, explain_circuit

from ._timing import interleaved_seconds, print_report, ratio

ENTRY = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
CIRCUIT_LAYERS = ["block3.conv2", "block3.conv1", "block2.conv2"]


def _library(repeats: int) -> dict:
    loaded = bcos_core.load_model()
    x = loaded.preprocess(Image.fromarray(load_image("sample:chelsea")))[0]
    target = int(bcos_core.class_logits(loaded.model, x).argmax())
    times = interleaved_seconds(
        {
            "explain_pixels": lambda: bcos_core.explain(loaded.model, x, target),
            "explain_channels": lambda: explain_channels(loaded.model, x, "block3.conv1", target),
            "circuit_3_layers_top8": lambda: explain_circuit(loaded.model, x, target, CIRCUIT_LAYERS, top_k=8),
        },
        repeats,
    )
    return {
        **{f"{name}_ms": round(1000 * statistics.median(values), 1) for name, values in times.items()},
        "circuit_vs_explain_pixels": ratio(times, "circuit_3_layers_top8", "explain_pixels"),
        "channels_vs_explain_pixels": ratio(times, "explain_channels", "explain_pixels"),
    }


def _page_seconds(at: AppTest, change) -> float:
    start = time.perf_counter()
    change()
    at.run()
    elapsed = time.perf_counter() - start
    assert not at.exception, at.exception
    return elapsed


def _panel(repeats: int) -> dict:
    at = AppTest.from_file(ENTRY, default_timeout=300)
    at.query_params["image"] = "sample:chelsea"
    at.query_params["graph"] = "1"
    at.run()
    assert not at.exception, at.exception
    layers = ["block3.conv1", "block2.conv2", "block2.conv1", "block1.conv2", "block1.conv1", "stem", "block3.conv2"]
    classes = [3, 5, 1, 8, 0, 2, 9, 4, 6, 7]
    layer_times, class_times = [], []
    for round_ in range(repeats):  # every change is to a value not seen before in this run: nothing comes from a cache
        layer = layers[round_ % len(layers)]
        layer_times.append(_page_seconds(at, lambda layer=layer: at.selectbox(key="feed_layer").set_value(layer)))
        cls = classes[round_ % len(classes)]
        class_times.append(_page_seconds(at, lambda cls=cls: at.selectbox(key="cls").set_value(cls)))
    return {
        "panel_layer_change_ms": round(1000 * statistics.median(layer_times), 1),
        "class_change_with_panel_and_graph_ms": round(1000 * statistics.median(class_times), 1),
        "rounds": repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    library = _library(args.repeats)
    panel = _panel(min(args.repeats, 7))
    print_report("circuits", {**library, **panel})


if __name__ == "__main__":
    main()
