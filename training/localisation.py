"""The grid pointing game over models and attribution methods: JSON results and a box plot.

    python -m training.evaluate --localisation --model cifar10_fastnet_b2 --model cifar10_conventional \\
        --grids 500 --posthoc-grids 100 --out results.json --plot results.png
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from bcos_core import LoadedModel
from bcos_core.attribution import BCOS, CLASS_AGNOSTIC, attribution_method, available_methods
from bcos_core.datasets import folder_fingerprint
from bcos_core.localisation import Grid, compose_grid, confident_images, grid_recall, play, sample_grids
from bcos_core.metrics import predict_logits
from bcos_core.preprocessing import encode_images

from .data import InMemoryDataset

DATA_NOTE = "CIFAR-10 test split, JPEG copy in the data folder (not bit-identical to the official batches)"


def box_statistics(scores: np.ndarray) -> dict:
    """Mean and the five numbers of a box plot (whiskers at the furthest scores within 1.5 IQR), rounded."""
    q1, median, q3 = np.percentile(scores, [25, 50, 75])
    iqr = q3 - q1
    inside = scores[(scores >= q1 - 1.5 * iqr) & (scores <= q3 + 1.5 * iqr)]
    values = {
        "n": int(scores.size),
        "mean": scores.mean(),
        "std": scores.std(),
        "q1": q1,
        "median": median,
        "q3": q3,
        "lower_whisker": inside.min(),
        "upper_whisker": inside.max(),
        "min": scores.min(),
        "max": scores.max(),
    }
    return {k: v if isinstance(v, int) else round(float(v), 4) for k, v in values.items()}


def checkpoint_digest(loaded: LoadedModel) -> str:
    """SHA-256 (first 16 hex digits) of the model's weights file, to say exactly which checkpoint was scored."""
    path = loaded.weights_path
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path is not None and path.exists() else "unknown"


def mean_grid_recall(loaded: LoadedModel, data: InMemoryDataset, grids: list[Grid]) -> float:
    """Mean :func:`~bcos_core.localisation.grid_recall` of the model over ``grids`` composed from ``data``'s images."""
    grid_logits = predict_logits(loaded.model, torch.stack([compose_grid(data.images[list(g.images)]) for g in grids]), 50)
    return round(float(grid_recall(grid_logits, grids).mean()), 4)


NO_GRID = "no grid: fewer than 9 classes have a correctly classified test image with sigmoid(logit) > 0.5"
CLASS_AGNOSTIC_NOTE = "class-agnostic: one map for all nine classes averages exactly 1/9 per grid, so its mean cannot rank it"
PREVIEW_GRIDS = 50  # grids stored with the results so that the app can show the same grids without classifying the data


def localise_model(
    loaded: LoadedModel,
    data: InMemoryDataset,
    methods: list[str],
    grids: int,
    posthoc_grids: int,
    smooth: int = 1,
    seed: int = 42,
    batch_size: int = 500,
) -> dict:
    """Pointing-game scores of ``methods`` on one model: B-cos contributions on ``grids`` grids, post-hoc methods
    on the first ``posthoc_grids`` of them (they cost 10–100× more)."""
    model = loaded.model
    logits = predict_logits(model, data.images, batch_size)
    per_class = confident_images(logits, data.labels)
    chosen = sample_grids(per_class, grids, 9, seed)
    images = encode_images(data.images)
    accuracy = float((logits.argmax(1) == data.labels).float().mean())
    result = {
        "arch": loaded.metadata.arch,
        "b": loaded.metadata.arch_kwargs.get("b"),
        "test_accuracy": round(accuracy, 4),
        "eligible_images": sum(len(v) for v in per_class.values()),
        "grids": len(chosen),
        "methods": {},
        "first_grids": [{"images": list(g.images), "classes": list(g.classes)} for g in chosen[:PREVIEW_GRIDS]],
    }
    if not chosen:  # nothing to score: say why instead of failing on empty statistics
        result["note"] = NO_GRID
        return result
    result["grid_recall"] = mean_grid_recall(loaded, data, chosen)
    result["grid_recall_blind"] = round(len(chosen[0].classes) / logits.shape[1], 4)
    for method in methods:
        if method not in available_methods(model):
            continue
        subset = chosen if method == BCOS else chosen[:posthoc_grids]
        started = time.perf_counter()
        scores = play(
            subset,
            images,
            attribution_method(method, model),
            smooth,
            progress=lambda g, method=method: tqdm(g, desc=f"{loaded.name}: {method}", unit="grid", leave=False),
        )
        seconds = time.perf_counter() - started
        entry = {"grids": len(subset), **box_statistics(scores.flatten().numpy()), "seconds": round(seconds, 1)}
        if method == BCOS and len(chosen) > posthoc_grids:  # the same grids the post-hoc methods saw, for a paired comparison
            entry["mean_on_posthoc_grids"] = round(float(scores[:posthoc_grids].mean()), 4)
        if method in CLASS_AGNOSTIC:
            entry["note"] = CLASS_AGNOSTIC_NOTE
        result["methods"][method] = entry
    return result


def box_plot(results: dict, path: Path) -> None:
    """One box per (model, method) from the stored five-number summaries; lines at 1 (oracle) and 1/9 (uniform)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats, labels = [], []
    for name, model in results["models"].items():
        for method, entry in model["methods"].items():
            stats.append(
                {
                    "med": entry["median"],
                    "q1": entry["q1"],
                    "q3": entry["q3"],
                    "whislo": entry["lower_whisker"],
                    "whishi": entry["upper_whisker"],
                    "mean": entry["mean"],
                    "fliers": [],
                }
            )
            labels.append(f"{name}\n{method}")
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(stats)), 4.5))
    ax.bxp(stats, showmeans=True)
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=60, ha="right", fontsize=7)
    ax.axhline(1.0, color="green", linestyle=":", label="oracle")
    ax.axhline(1 / 9, color="gray", linestyle="--", label="uniform (1/9)")
    ax.set_ylabel("localisation score")
    ax.set_title(f"Grid pointing game, 3×3, {results['grids']} grids ({results['posthoc_grids']} for post-hoc methods)")
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(
    models: list[LoadedModel], data: InMemoryDataset, data_root: Path, methods: list[str], grids: int, posthoc_grids: int, smooth: int
) -> dict:
    """Results of every model, with what was measured on what (kept with the numbers)."""
    torch.manual_seed(0)
    results = {
        "procedure": "grid pointing game (B-cos v2): 3×3 grids of distinct classes from correctly classified images "
        "with sigmoid(logit) > 0.5, NumPy seed 42, attribution summed over channels, box smoothing then clamping at 0, "
        "score = positive mass in the tile / total",
        "data": DATA_NOTE,
        "data_fingerprint": folder_fingerprint(data_root),
        "grids": grids,
        "posthoc_grids": posthoc_grids,
        "smooth": smooth,
        "seed": 42,
        "models": {},
    }
    for loaded in models:
        entry = localise_model(loaded, data, methods, grids, posthoc_grids, smooth)
        entry["checkpoint"] = {"name": loaded.name, "sha256_16": checkpoint_digest(loaded)}
        results["models"][loaded.name] = entry
    return results


def merge_results(previous: dict, new: dict) -> dict:
    """``previous`` with ``new``'s models added (replacing same-named ones); both must share data, grids and smoothing."""
    keys = ("data_fingerprint", "grids", "posthoc_grids", "smooth", "seed")
    different = [k for k in keys if previous.get(k) != new.get(k)]
    if different:
        raise ValueError(f"the stored results differ in {', '.join(different)}")
    return {**previous, "models": {**previous["models"], **new["models"]}}
