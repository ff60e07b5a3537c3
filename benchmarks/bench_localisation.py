"""Grid pointing game time (JSON): 500 3×3 grids with the model-inherent B-cos maps, default model, CIFAR-10 test set.

    python -m benchmarks.bench_localisation [--grids 500] [--posthoc-grids 5]

Reports the time to pick the grids (classifying the test set) and to score them, and per-grid times of the
post-hoc methods on a few grids for comparison (ratios to the B-cos maps).
"""

from __future__ import annotations

import argparse
import time

from bcos_core.attribution import BCOS, attribution_method, available_methods
from bcos_core.localisation import confident_images, play, sample_grids
from bcos_core.metrics import predict_logits
from bcos_core.preprocessing import encode_images
from bcos_core.zoo import DEFAULT_MODEL, load_model
from training.data import default_data_root, load_image_folder

from ._timing import machine, print_report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grids", type=int, default=500)
    parser.add_argument("--posthoc-grids", type=int, default=5)
    args = parser.parse_args()
    before = machine()
    loaded = load_model(DEFAULT_MODEL)
    data = load_image_folder(default_data_root() / "cifar10" / "test", ".cache/data", 32)
    start = time.perf_counter()
    logits = predict_logits(loaded.model, data.images)
    grids = sample_grids(confident_images(logits, data.labels), args.grids)
    images = encode_images(data.images)
    selection = time.perf_counter() - start
    start = time.perf_counter()
    scores = play(grids, images, attribution_method(BCOS, loaded.model))
    scoring = time.perf_counter() - start
    per_grid = scoring / len(grids)
    posthoc = {}
    for method in available_methods(loaded.model)[1:]:
        start = time.perf_counter()
        play(grids[: args.posthoc_grids], images, attribution_method(method, loaded.model))
        seconds = (time.perf_counter() - start) / args.posthoc_grids
        posthoc[method] = {"ms_per_grid": round(1000 * seconds, 1), "ratio_to_bcos": round(seconds / per_grid, 1)}
    print_report(
        "grid_pointing_game",
        {
            "model": loaded.name,
            "grids": len(grids),
            "grid_selection_s": round(selection, 1),
            "bcos_scoring_s": round(scoring, 1),
            "total_s": round(selection + scoring, 1),
            "bcos_ms_per_grid": round(1000 * per_grid, 1),
            "bcos_mean_score": round(float(scores.mean()), 4),
            "posthoc": posthoc,
        },
        before,
    )


if __name__ == "__main__":
    main()
