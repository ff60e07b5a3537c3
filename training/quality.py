"""Explanation quality of trained models: accuracy, localisation at the paper's setting, alignment, and an explanation sheet.

    python -m training.evaluate --quality --model cifar10_fastnet_b2 --model cifar10_vgg9_b1 … \\
        --out assets/evaluation/quality.json --sheet assets/evaluation/explanation_sheet.png

Per model: test accuracy; the grid pointing game of the B-cos contributions at the paper's CIFAR-10 smoothing (3×3)
and at v2's (1), both from the same maps of the same grids; alignment, the mean cosine between the predicted class's
W(x) and x over the test set, and the same cosine at the output of every layer that cuts the network in two (where the
alignment is won or lost); colour agreement, whether the drawn explanation shows the image's own colours and is as
smooth as the image (on 2,000 test images spread over the classes). The sheet explains the same 20 test images (the
first 2 of each class) with every model, one row each, like the paper's Fig. 4.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from bcos_core import LoadedModel, load_model
from bcos_core.attribution import BCOS, attribution_method
from bcos_core.datasets import folder_fingerprint
from bcos_core.explain import predicted_linear_maps
from bcos_core.localisation import (
    Grid,
    confident_images,
    mass_between_classes,
    mass_by_distance,
    own_scores,
    play_shares,
    sample_grids,
    scores_by_class,
    uniform_mass_by_distance,
)
from bcos_core.metrics import alignment_by_layer, explanation_colours, predict_logits
from bcos_core.preprocessing import encode_images
from bcos_core.registry import is_registered
from bcos_core.render import explanation_to_rgba, rgba_over_background, upscale_nearest

from .data import InMemoryDataset
from .localisation import DATA_NOTE, box_statistics, checkpoint_digest, mean_grid_recall
from .state import RUN_EXPORT_NAME

SMOOTHINGS = (3, 1)  # the CVPR paper's CIFAR-10 smoothing first, then v2's TRAINING.md setting
RANK_BLOCK = 100  # grids per block of the localisation by confidence rank
SHEET_PER_CLASS = 2
SHEET_RENDER = {"smooth": 3, "alpha_percentile": 99.5, "background": "black"}  # the dashboard's defaults
SHEET_TILE = 96  # pixels per explained image in the sheet (nearest-neighbour upscaling)
COLOUR_IMAGES = 2000  # test images spread evenly over the set for the colour agreement (every class; a fifth of CIFAR-10's test set)
COLOUR_PROCEDURE = (
    f"colour agreement of the predicted class's explanation drawn as the sheet draws it ({SHEET_RENDER['smooth']}×{SHEET_RENDER['smooth']} "
    f"smoothing, alpha clipped at the {SHEET_RENDER['alpha_percentile']} percentile) on {COLOUR_IMAGES} test images spread evenly over the "
    "test set: error = opacity-weighted mean |explanation colour − image colour| (0: the image's own colours, as where W(x) ∝ x); "
    "roughness ratio = mean colour change between neighbouring pixels of the explanation over that of the image, opacity-weighted "
    "(1: as smooth as the image; striped fills ≫ 1)"
)


def sheet_indices(labels: torch.Tensor, per_class: int = SHEET_PER_CLASS) -> list[int]:
    """The first ``per_class`` test images of every class, in class order: the sheet's fixed columns."""
    return [int(i) for c in range(int(labels.max()) + 1) for i in torch.nonzero(labels == c).flatten()[:per_class]]


def training_speed(training: dict) -> dict | None:
    """Training images per second of wall time (compilation and per-epoch evaluation included) and the threads, from a
    model file's training record; None where the record does not say how many images an epoch had."""
    images = training.get("train_images") or training.get("config", {}).get("data", {}).get("train_subset")
    if not images or not training.get("wall_time_s"):
        return None
    return {"images_per_s": round(training["epochs"] * images / training["wall_time_s"], 1), "threads": training.get("threads")}


def named_class_means(grids: list[Grid], scores: torch.Tensor, class_names: list[str]) -> dict:
    """{class name: {"mean", "n"}} of the tiles of each class in ``grids``, in class order (:func:`scores_by_class`)."""
    return {class_names[c]: {"mean": round(mean, 4), "n": n} for c, (mean, n) in sorted(scores_by_class(grids, scores).items())}


def by_confidence_rank(grids: list[Grid], scores: dict[int, torch.Tensor], logits: torch.Tensor, block: int = RANK_BLOCK) -> dict:
    """Localisation per block of ``block`` consecutive grids, with the mean own logit of the blocks' tiles. Grids take
    each class's most confident images first, so later blocks hold less confident ones: this says whether a mean over
    many grids was lowered by the model's less confident images (the logit, since sigmoid(logit), the selection's
    confidence, is ≈ 1 for all of a trained model's grids). {"first_grid": [1, 101, …], "logit": [...], "3": [...],
    "1": [...]} for the smoothings in ``scores`` ({smooth: (grids, tiles)})."""
    own = torch.stack([logits[list(g.images), list(g.classes)] for g in grids])
    starts = range(0, len(grids), block)
    ranked: dict = {"first_grid": [start + 1 for start in starts]}
    ranked["logit"] = [round(float(own[start : start + block].mean()), 3) for start in starts]
    for smooth, values in scores.items():
        ranked[str(smooth)] = [round(float(values[start : start + block].mean()), 4) for start in starts]
    return ranked


def named_class_pairs(grids: list[Grid], shares: torch.Tensor, class_names: list[str]) -> dict:
    """{class: {other class: mean share of the class's maps on the other class's tile}} (:func:`mass_between_classes`),
    None for pairs that never share a grid."""
    matrix = mass_between_classes(grids, shares, len(class_names)).tolist()
    return {
        name: {other: None if np.isnan(matrix[c][d]) else round(matrix[c][d], 4) for d, other in enumerate(class_names) if d != c}
        for c, name in enumerate(class_names)
    }


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 4) for key, value in values.items()}


def measure_colours(loaded: LoadedModel, data: InMemoryDataset) -> dict:
    """The colour agreement of :data:`COLOUR_PROCEDURE` (:func:`bcos_core.metrics.explanation_colours`), rounded."""
    spread = data.spread(COLOUR_IMAGES)
    colours = explanation_colours(loaded.model, spread.images, SHEET_RENDER["smooth"], SHEET_RENDER["alpha_percentile"], progress=True)
    return {"error": round(colours["error"], 4), "roughness_ratio": round(colours["roughness_ratio"], 3), "images": colours["images"]}


def localisation_shares(
    model: torch.nn.Module, data: InMemoryDataset, logits: torch.Tensor, grids: int, seed: int = 42, progress: Callable | None = None
) -> tuple[list[Grid], dict[int, torch.Tensor]]:
    """Up to ``grids`` grids of the model's confidently correct images (``logits`` on ``data``) and their mass shares at
    every smoothing in :data:`SMOOTHINGS`: the pointing game of the quality table."""
    chosen = sample_grids(confident_images(logits, data.labels), grids, 9, seed)
    return chosen, play_shares(chosen, encode_images(data.images), attribution_method(BCOS, model), SMOOTHINGS, progress)


def localisation_means(model: torch.nn.Module, data: InMemoryDataset, grids: int, seed: int = 42) -> dict[str, float | int | None]:
    """The number of grids formed and the mean localisation at every smoothing in :data:`SMOOTHINGS` ({"grids": n, "3": …,
    "1": …}; None without grids) on up to ``grids`` grids, eager float32: what the training log records, so that one run
    shows how localisation moves with training. The count matters: a model whose logits are still small has few confidently
    correct images, so few grids (4 of 100 for the 8-epoch FastNet at B = 2.5)."""
    logits = predict_logits(model, data.images)
    chosen, shares = localisation_shares(model, data, logits, grids, seed)
    means = {str(smooth): round(float(own_scores(shares[smooth]).mean()), 4) if chosen else None for smooth in SMOOTHINGS}
    return {"grids": len(chosen), **means}


def measure_quality(loaded: LoadedModel, data: InMemoryDataset, grids: int = 500, seed: int = 42) -> dict:
    """Accuracy, alignment and localisation (every smoothing in :data:`SMOOTHINGS`) of one model on ``data``."""
    started = time.perf_counter()
    layer_cosines, logits = alignment_by_layer(loaded.model, data.images, progress=True)
    cosines = layer_cosines["input"]
    correct = logits.argmax(1) == data.labels
    progress = lambda g: tqdm(g, desc=f"{loaded.name}: localisation", unit="grid", leave=False)  # noqa: E731
    chosen, shares = localisation_shares(loaded.model, data, logits, grids, seed, progress)
    scores = {smooth: own_scores(s) for smooth, s in shares.items()}
    return {
        "arch": loaded.metadata.arch,
        "b": loaded.metadata.arch_kwargs.get("b"),
        "test_accuracy": round(float(correct.float().mean()), 4),
        "alignment": {
            "mean": round(float(cosines.mean()), 4),
            "std": round(float(cosines.std()), 4),
            "mean_correct": round(float(cosines[correct].mean()), 4),
            # the same cosine at the output of every cut below the classifier (input first): where alignment is lost
            "by_layer": {name: round(float(values.mean()), 4) for name, values in layer_cosines.items()},
        },
        # does the drawn explanation show the image's own colours, as smoothly as the image (COLOUR_PROCEDURE)
        "colour": measure_colours(loaded, data),
        # None where no grid could be formed (fewer than 9 classes with confidently correct test images)
        "localisation": {str(smooth): box_statistics(scores[smooth].flatten().numpy()) if chosen else None for smooth in SMOOTHINGS},
        # the mean score of each class's tiles (None without grids): which objects the maps miss
        "localisation_by_class": {str(s): named_class_means(chosen, scores[s], data.classes) if chosen else None for s in SMOOTHINGS},
        # where each map's positive mass lies: its own tile, the tiles touching it, farther (None without grids)
        "localisation_mass": {str(s): _rounded(mass_by_distance(shares[s])) if chosen else None for s in SMOOTHINGS},
        # the mean score of each block of 100 grids in the order drawn, from the most confident images down (None without grids)
        "localisation_by_rank": by_confidence_rank(chosen, scores, logits) if chosen else None,
        # which other objects' tiles a class's maps put their mass on (None without grids)
        "mass_between_classes": {str(s): named_class_pairs(chosen, shares[s], data.classes) if chosen else None for s in SMOOTHINGS},
        # the fraction of a grid's classes among the model's top logits for the whole grid: does it see the tiles at all
        "grid_recall": mean_grid_recall(loaded, data, chosen) if chosen else None,
        "grids": len(chosen),
        "training_speed": training_speed(loaded.metadata.training),
        "seconds": round(time.perf_counter() - started, 1),
        "checkpoint": {"name": loaded.name, "sha256_16": checkpoint_digest(loaded), **_file_of(loaded)},
    }


def _file_of(loaded: LoadedModel) -> dict:
    """{"path": the weights file} for a model loaded from a file rather than by its registered name: what the sheet
    loads again when the row is merged later."""
    return {} if is_registered(loaded.name) or loaded.weights_path is None else {"path": str(loaded.weights_path)}


def stored_model(label: str, row: dict) -> LoadedModel:
    """The model of a stored row, for its sheet row: by registered name, or from the file the row names."""
    return load_model(row.get("checkpoint", {}).get("path") or label)


def sheet_row(loaded: LoadedModel, data: InMemoryDataset, indices: list[int]) -> tuple[list[np.ndarray], list[bool]]:
    """Each chosen image's explanation of the model's predicted class, composited as the app draws it, and whether
    the prediction is right."""
    x = encode_images(data.images[indices])
    logits, maps = predicted_linear_maps(loaded.model, x)
    tiles = [
        rgba_over_background(
            explanation_to_rgba(image, linear_map, SHEET_RENDER["smooth"], SHEET_RENDER["alpha_percentile"]), SHEET_RENDER["background"]
        )
        for image, linear_map in zip(x, maps)
    ]
    return tiles, (logits.argmax(1) == data.labels[indices]).tolist()


def compose_sheet(inputs: list[np.ndarray], rows: list[tuple[str, list[np.ndarray], list[bool]]], column_titles: list[str]) -> Image.Image:
    """A grid: the input images on top, then one labelled row of explanations per model; wrong predictions framed red."""
    all_rows = [("input", inputs, [True] * len(inputs)), *rows]
    font, title_height, gap = ImageFont.load_default(), 16, 4
    label_width = max(150, 12 + max(int(font.getlength(label)) for label, _, _ in all_rows))  # a long run name stays whole
    step = SHEET_TILE + gap
    sheet = Image.new("RGB", (label_width + step * len(inputs), title_height + step * (len(rows) + 1)), "white")
    draw = ImageDraw.Draw(sheet)
    for column, title in enumerate(column_titles):
        draw.text((label_width + column * step, 2), title[:16], fill="black", font=font)
    for row, (label, tiles, correct) in enumerate(all_rows):
        top = title_height + row * step
        draw.text((4, top + SHEET_TILE // 2 - 6), label, fill="black", font=font)
        for column, (tile, right) in enumerate(zip(tiles, correct)):
            left = label_width + column * step
            sheet.paste(Image.fromarray(upscale_nearest(tile, SHEET_TILE)[:SHEET_TILE, :SHEET_TILE]), (left, top))
            if not right:
                draw.rectangle((left, top, left + SHEET_TILE - 1, top + SHEET_TILE - 1), outline=(230, 0, 0), width=3)
    return sheet


def model_labels(models: list[LoadedModel]) -> list[str]:
    """Names to report: the model's name, or its folder's name where several files share one or the file is a training
    run's export (runs/x/model.safetensors), so that a run measured alone and appended gets the same label as in company."""
    names = [m.name for m in models]
    return [
        m.weights_path.parent.name if (names.count(m.name) > 1 or m.name == RUN_EXPORT_NAME) and m.weights_path is not None else m.name
        for m in models
    ]


def run(
    models: list[LoadedModel],
    data: InMemoryDataset,
    data_root: Path,
    grids: int,
    sheet_path: Path | None = None,
    earlier: list[dict] = (),
) -> dict:
    """Quality of every model, with what was measured on what; writes the explanation sheet when ``sheet_path`` is given.

    ``earlier`` results (of the same procedure, data and grids) are kept, in order, and their models (loaded by name) get
    their rows in the sheet too, so models finishing training at different times can be measured apart and merged.
    """
    torch.manual_seed(0)
    indices = sheet_indices(data.labels)
    results = {
        "procedure": "accuracy and alignment (mean cos(W(x), x) of the predicted class, all 6 input channels) on the whole test set; "
        "grid pointing game of the B-cos contributions (B-cos v2 procedure, 3×3 grids, NumPy seed 42) at each smoothing, same grids and "
        "maps",
        "data": DATA_NOTE,
        "data_fingerprint": folder_fingerprint(data_root),
        "grids": grids,
        "smoothings": list(SMOOTHINGS),
        "sheet": {"images": indices, "render": SHEET_RENDER, "path": sheet_path.name if sheet_path else None},
        "colour_procedure": COLOUR_PROCEDURE,
        "models": {},
    }
    same = ("procedure", "data_fingerprint", "grids", "smoothings")
    for before in earlier:
        if any(before.get(key) != results[key] for key in same):
            raise ValueError(f"the earlier results were measured differently (compare their {', '.join(same)}); measure all models again")
        results["models"].update(before["models"])
    measured = dict(zip(model_labels(models), models))
    # the sheet's earlier models before the (long) measurement: one that cannot be loaded fails now, not after it
    sheet_models = results["models"] if sheet_path is not None else {}
    earlier_models = {label: stored_model(label, row) for label, row in sheet_models.items() if label not in measured}
    for label, loaded in measured.items():
        results["models"][label] = measure_quality(loaded, data, grids)
    if sheet_path is not None:
        rows = [(label, *sheet_row(measured.get(label) or earlier_models[label], data, indices)) for label in results["models"]]
        inputs = [data.images[i].permute(1, 2, 0).numpy() for i in indices]
        sheet_path.parent.mkdir(parents=True, exist_ok=True)
        compose_sheet(inputs, rows, [data.classes[int(data.labels[i])] for i in indices]).save(sheet_path)
    return results


def add_colours(results: dict, models: list[LoadedModel], data: InMemoryDataset) -> dict:
    """``results`` with the colour agreement of each of ``models`` measured and added to its stored row (nothing else is
    measured again): for rows stored before the colour agreement was part of the quality measurement."""
    missing = [label for label in model_labels(models) if label not in results["models"]]
    if missing:
        raise ValueError(f"no stored row for {', '.join(missing)}: measure their whole quality first")
    for label, loaded in zip(model_labels(models), models):
        results["models"][label]["colour"] = measure_colours(loaded, data)
    return {**results, "colour_procedure": COLOUR_PROCEDURE}


def _mean_text(entry: dict | None, grids: int | None = None, most_grids: int = 0) -> str:
    """The mean score; with the row's grid count where it is below the table's most, since grids are formed from each
    model's own confidently correct images and a model with small logits may fill only a few."""
    if entry is None:
        return "– (no grid)"
    return f"{entry['mean']:.3f}" + (f" ({grids} grids)" if grids is not None and grids < most_grids else "")


def markdown_table(results: dict) -> str:
    """The README's table of stored quality results: one row per model."""
    smoothings = results["smoothings"]
    speeds = [model.get("training_speed") for model in results["models"].values()]
    colours = any("colour" in model for model in results["models"].values())
    header = ["model", "B", "test accuracy", *(f"localisation (smoothing {s})" for s in smoothings), "alignment"]
    header += ["colour error", "roughness ratio"] if colours else []
    header += ["training images/s"] if any(speeds) else []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    most_grids = max((model.get("grids") or 0 for model in results["models"].values()), default=0)
    for name, model in results["models"].items():
        cells = [
            f"`{name}`",
            f"{model['b']:g}" if model["b"] is not None else "–",
            f"{100 * model['test_accuracy']:.2f} %",
            *(_mean_text(model["localisation"][str(s)], model.get("grids"), most_grids) for s in smoothings),
            f"{model['alignment']['mean']:.3f}",
        ]
        if colours:
            colour = model.get("colour")
            cells += [f"{colour['error']:.3f}", f"{colour['roughness_ratio']:.2f}"] if colour else ["–", "–"]
        if any(speeds):
            speed = model.get("training_speed")
            cells.append(f"{speed['images_per_s']:g} ({speed['threads']} thread{'s' * (speed['threads'] != 1)})" if speed else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def alignment_profiles(results: dict) -> str:
    """One Markdown line per model that has it: the alignment at the input and at each cut below the classifier."""
    lines = []
    for name, model in results["models"].items():
        profile = model["alignment"].get("by_layer")
        if profile:
            lines.append(f"- `{name}`: " + " → ".join(f"{layer} {value:.3f}" for layer, value in profile.items()))
    return "\n".join(lines)


def localisation_spread(results: dict) -> str:
    """One Markdown line per model: the quartiles of its per-tile localisation scores at each smoothing, which say
    whether a mean moved with every tile or through a tail of badly localised ones."""
    lines = []
    for name, model in results["models"].items():
        stored = [(s, model["localisation"].get(str(s))) for s in results["smoothings"]]
        quartiles = [f"smoothing {s}: {e['q1']:.3f} / {e['median']:.3f} / {e['q3']:.3f}" for s, e in stored if e and "q1" in e]
        if quartiles:
            lines.append(f"- `{name}` (quartiles): " + "; ".join(quartiles))
    return "\n".join(lines)


def localisation_by_rank(results: dict) -> str:
    """One Markdown line per model that has it: localisation at the first smoothing per block of grids, most confident
    images first, with the blocks' mean own logit: whether the mean fell through the less confident images."""
    smooth, lines = str(results["smoothings"][0]), []
    for name, model in results["models"].items():
        ranked = model.get("localisation_by_rank")
        if ranked:
            blocks = zip(ranked["first_grid"], ranked[smooth], ranked["logit"])
            text = ", ".join(f"{g}: {m:.3f} (logit {logit:.1f})" for g, m, logit in blocks)
            lines.append(f"- `{name}` (smoothing {smooth}, by grids from): {text}")
    return "\n".join(lines)


def localisation_by_class(results: dict) -> str:
    """A Markdown table of each model's mean localisation per tile class at the first smoothing (the paper's), for the
    models measured with it: whether a mean fell through some classes or through all."""
    smooth = str(results["smoothings"][0])
    stored = {name: (model.get("localisation_by_class") or {}).get(smooth) for name, model in results["models"].items()}
    rows = {name: by_class for name, by_class in stored.items() if by_class}
    if not rows:
        return ""
    classes = list(next(iter(rows.values())))
    lines = [f"| model (smoothing {smooth}) | " + " | ".join(classes) + " |", "|" + "---|" * (len(classes) + 1)]
    for name, by_class in rows.items():
        lines.append(f"| `{name}` | " + " | ".join(f"{by_class[c]['mean']:.3f}" if c in by_class else "–" for c in classes) + " |")
    return "\n".join(lines)


def localisation_mass(results: dict) -> str:
    """A Markdown table of where each model's positive mass lies (own tile, tiles touching it, farther) at every
    smoothing, and its grid recall, for the models measured with them; a uniform map's shares as the reference."""
    uniform = uniform_mass_by_distance()
    lines = ["| model | smoothing | own tile | tiles touching it | farther | grid recall |", "|---|---|---|---|---|---|"]
    for name, model in results["models"].items():
        for smooth in results["smoothings"]:
            mass = (model.get("localisation_mass") or {}).get(str(smooth))
            if mass:
                recall = model.get("grid_recall")
                shares = " | ".join(f"{mass[k]:.3f}" for k in ("own", "adjacent", "farther"))
                lines.append(f"| `{name}` | {smooth} | {shares} | {'–' if recall is None else f'{recall:.3f}'} |")
    if len(lines) == 2:
        return ""
    lines.append(f"| a uniform map | any | {uniform['own']:.3f} | {uniform['adjacent']:.3f} | {uniform['farther']:.3f} | – |")
    return "\n".join(lines)


def strongest_class_pairs(results: dict, count: int = 3) -> str:
    """One Markdown line per model that has them: the ``count`` largest shares of a class's maps on another class's tile
    at the first smoothing (a uniform map gives 1/9 to each): which objects the maps mistake for one another."""
    smooth, lines = str(results["smoothings"][0]), []
    for name, model in results["models"].items():
        pairs = (model.get("mass_between_classes") or {}).get(smooth)
        if pairs:
            ranked = sorted(((share, c, d) for c, row in pairs.items() for d, share in row.items() if share is not None), reverse=True)
            lines.append(f"- `{name}` (smoothing {smooth}): " + ", ".join(f"{c} → {d} {share:.3f}" for share, c, d in ranked[:count]))
    return "\n".join(lines)


if __name__ == "__main__":  # python -m training.quality assets/evaluation/quality.json → the README's Markdown table
    import json
    import sys

    stored = json.loads(Path(sys.argv[1]).read_text())
    print(markdown_table(stored))
    print()
    print(alignment_profiles(stored))
    print()
    print(localisation_spread(stored))
    print()
    print(localisation_by_rank(stored))
    print()
    print(localisation_by_class(stored))
    print()
    print(localisation_mass(stored))
    print()
    print(strongest_class_pairs(stored, count=5))
