"""The evaluation page's data and figures: stored pointing-game results, one live grid, and a deletion curve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from PIL import Image
from plotly.subplots import make_subplots

from bcos_core import attribution
from bcos_core.attribution import BCOS, DeletionCurves, attribution_method, deletion_gaps
from bcos_core.datasets import folder_fingerprint
from bcos_core.localisation import Grid, compose_grid, confident_images, sample_grids, tile_scores, uniform_mass_by_distance
from bcos_core.models import list_architectures
from bcos_core.preprocessing import encode_crop
from bcos_core.registry import b_family
from bcos_core.zoo import ASSETS_DIR

from .compute import get_model, uses_model
from .images import dataset_images_root, dataset_index, load_image

RESULTS_PATH = ASSETS_DIR / "evaluation" / "localisation.json"
QUALITY_PATH = ASSETS_DIR / "evaluation" / "quality.json"
COARSE_METHODS = ("Grad-CAM", "Occlusion")  # maps at the resolution of a feature cell or an occlusion patch
METHOD_COLORS = {
    BCOS: "#d62728",
    "Gradient": "#7f7f7f",
    "Input×Gradient": "#8c564b",
    "Integrated Gradients": "#9467bd",
    "Grad-CAM": "#1f77b4",
    "DeepLIFT": "#17becf",
    "Occlusion": "#2ca02c",
}


@st.cache_data(show_spinner=False)
def stored_results(path: Path = RESULTS_PATH) -> dict | None:
    """The shipped results of ``python -m training.evaluate --localisation`` (None when absent)."""
    return json.loads(path.read_text()) if path.exists() else None


@st.cache_data(show_spinner=False)
def stored_quality(path: Path = QUALITY_PATH) -> dict | None:
    """The shipped results of ``python -m training.evaluate --quality`` (None when absent)."""
    return json.loads(path.read_text()) if path.exists() else None


def quality_rows(results: dict, names: list[str]) -> list[dict]:
    """One table row per stored model among ``names`` (in that order): accuracy, localisation at each smoothing, alignment,
    colour agreement (None where it was not measured)."""
    rows = []
    for name in names:
        model = results["models"].get(name)
        if model is None:
            continue
        row = {"model": name, "B": model["b"], "test accuracy": model["test_accuracy"]}
        row.update({f"localisation (smoothing {s})": (model["localisation"][str(s)] or {}).get("mean") for s in results["smoothings"]})
        row["alignment cos(W(x), x)"] = model["alignment"]["mean"]
        colour = model.get("colour") or {}
        row["colour error"], row["roughness ratio"] = colour.get("error"), colour.get("roughness_ratio")
        rows.append(row)
    return rows


def model_groups(results: dict) -> tuple[list[str], list[str], list[str]]:
    """Stored model names split into B-cos models, conventional baselines (by architecture) and the B family (by B)."""
    models = results["models"]
    conventional = set(list_architectures(conventional=True))
    baselines = [n for n, m in models.items() if m["arch"] in conventional]
    family = [n for n in b_family() if n in models]
    return [n for n in models if n not in baselines and n not in family], baselines, family


def _box(entry: dict, name: str, color: str, grids: int, x: str | None = None) -> go.Box:
    """A box from a stored five-number summary (the raw scores are not shipped)."""
    return go.Box(
        name=name,
        x=[x or name],
        q1=[entry["q1"]],
        median=[entry["median"]],
        q3=[entry["q3"]],
        lowerfence=[entry["lower_whisker"]],
        upperfence=[entry["upper_whisker"]],
        mean=[entry["mean"]],
        marker_color=color,
        boxpoints=False,
        hovertemplate=(
            f"{name}<br>mean {entry['mean']:.3f} · median {entry['median']:.3f}<br>{entry['n']:,} tiles from {grids} grids<extra></extra>"
        ),
    )


def _reference_lines(fig: go.Figure, **where: int) -> None:
    fig.add_hline(y=1.0, line=dict(color="green", dash="dot"), annotation_text="oracle", annotation_position="top left", **where)
    fig.add_hline(y=1 / 9, line=dict(color="gray", dash="dash"), annotation_text="uniform 1/9", annotation_position="bottom left", **where)


def methods_figure(results: dict, model_names: list[str], titles: list[str]) -> go.Figure:
    """Box plots of every method's scores, one panel per model, with the oracle and uniform lines."""
    fig = make_subplots(rows=1, cols=len(model_names), shared_yaxes=True, subplot_titles=titles)
    for column, name in enumerate(model_names, 1):
        for method, entry in results["models"][name]["methods"].items():
            fig.add_trace(_box(entry, method, METHOD_COLORS.get(method, "#333"), entry["grids"]), row=1, col=column)
        _reference_lines(fig, row=1, col=column)
    fig.update_yaxes(range=[0, 1.05], title_text="localisation score", row=1, col=1)
    fig.update_layout(height=420, showlegend=False, margin=dict(l=4, r=4, t=40, b=4))
    return fig


def alignment_by_layer_figure(quality: dict, names: list[str]) -> go.Figure | None:
    """Alignment cos(W_L(x), a_L) at the input and at each cut below the classifier, one line per stored model among
    ``names`` that has the profile, over relative depth (0: input, 1: the last cut), the layer's name on hover."""
    fig = go.Figure()
    for name in names:
        profile = quality["models"].get(name, {}).get("alignment", {}).get("by_layer")
        if not profile:
            continue
        layers = list(profile)
        depth = [i / max(len(layers) - 1, 1) for i in range(len(layers))]
        fig.add_trace(
            go.Scatter(
                x=depth,
                y=list(profile.values()),
                customdata=layers,
                mode="markers+lines",
                name=name,
                hovertemplate=f"{name}<br>%{{customdata}}: %{{y:.3f}}<extra></extra>",
            )
        )
    if not fig.data:
        return None
    fig.update_xaxes(title_text="depth (0: input, 1: the last layer below the classifier)", range=[-0.02, 1.02])
    fig.update_yaxes(title_text="alignment cos(W_L(x), a_L)", rangemode="tozero")
    fig.update_layout(height=340, margin=dict(l=4, r=4, t=10, b=4), legend=dict(orientation="h", y=-0.25))
    return fig


MASS_PARTS = {"own": ("own tile", "#2ca02c"), "adjacent": ("tiles touching it", "#ff7f0e"), "farther": ("farther", "#d62728")}
UNIFORM_MAP = "a uniform map"


def localisation_mass_figure(quality: dict, names: list[str]) -> go.Figure | None:
    """Where each stored model's maps put their positive mass at the paper's smoothing (own tile, tiles touching it,
    farther), one stacked bar per model among ``names`` that has it, and a uniform map's shares as the reference."""
    smooth = str(quality["smoothings"][0])
    stored = {n: (quality["models"].get(n, {}).get("localisation_mass") or {}).get(smooth) for n in names}
    stored = {name: mass for name, mass in stored.items() if mass}
    if not stored:
        return None
    stored[UNIFORM_MAP] = uniform_mass_by_distance()
    fig = go.Figure()
    for part, (label, color) in MASS_PARTS.items():
        shares = [stored[name][part] for name in stored]
        fig.add_trace(
            go.Bar(
                y=list(stored),
                x=shares,
                name=label,
                orientation="h",
                marker_color=color,
                hovertemplate=f"%{{y}}<br>{label}: %{{x:.3f}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", height=60 + 34 * len(stored), margin=dict(l=4, r=4, t=10, b=4), legend=dict(orientation="h", y=-0.3))
    fig.update_xaxes(title_text=f"share of the map's positive mass (smoothing {smooth})", range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    return fig


def localisation_by_rank_figure(quality: dict, names: list[str]) -> go.Figure | None:
    """Localisation at the paper's smoothing per block of grids, most confident images first, one line per stored model
    among ``names`` that has it, the block's mean own logit on hover: whether a mean was lowered by the less confident
    images or by all of them."""
    smooth, fig = str(quality["smoothings"][0]), go.Figure()
    for name in names:
        ranked = quality["models"].get(name, {}).get("localisation_by_rank")
        if not ranked:
            continue
        fig.add_trace(
            go.Scatter(
                x=ranked["first_grid"],
                y=ranked[smooth],
                customdata=ranked["logit"],
                mode="markers+lines",
                name=name,
                hovertemplate=f"{name}<br>grids from %{{x}}: %{{y:.3f}} (mean own logit %{{customdata:.1f}})<extra></extra>",
            )
        )
    if not fig.data:
        return None
    fig.update_xaxes(title_text="grids from (each class's most confident images first)")
    fig.update_yaxes(title_text=f"localisation (smoothing {smooth})", range=[0, 1.05])
    fig.update_layout(height=320, margin=dict(l=4, r=4, t=10, b=4), legend=dict(orientation="h", y=-0.3))
    return fig


def b_family_figure(quality: dict, family: list[str]) -> go.Figure:
    """Paper Fig. 5 from the stored quality results: localisation at the paper's smoothing (boxes), alignment (diamonds),
    colour error (triangles, where every member has it) and test accuracy (crosses, right axis) per B."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    models, smooth = quality["models"], str(quality["smoothings"][0])
    labels = [f"B = {models[n]['b']:g}" for n in family]
    for name, label in zip(family, labels):
        fig.add_trace(
            _box(models[name]["localisation"][smooth], label, METHOD_COLORS[BCOS], models[name]["grids"], x=label), secondary_y=False
        )
    fig.add_trace(_trend(labels, [models[n]["alignment"]["mean"] for n in family], "alignment", "diamond", "#9467bd", "{y:.3f}"))
    if all(models[n].get("colour") for n in family):
        errors = [models[n]["colour"]["error"] for n in family]
        fig.add_trace(_trend(labels, errors, "colour error", "triangle-down", "#2ca02c", "{y:.3f} (0: the image's own colours)"))
    accuracy = [100 * models[n]["test_accuracy"] for n in family]
    fig.add_trace(_trend(labels, accuracy, "test accuracy", "x", "black", "{y:.1f} %"), secondary_y=True)
    _reference_lines(fig)
    fig.update_yaxes(title_text=f"localisation (smoothing {smooth}) · alignment · colour error", range=[0, 1.05], secondary_y=False)
    fig.update_yaxes(title_text="test accuracy (%)", secondary_y=True, showgrid=False, tickformat=".1f")
    fig.update_layout(height=380, showlegend=False, margin=dict(l=4, r=4, t=10, b=4))
    return fig


def _trend(labels: list[str], values: list[float], name: str, symbol: str, color: str, value_format: str) -> go.Scatter:
    """One stored figure of every family member as markers joined by a line; ``value_format`` formats the hover value."""
    return go.Scatter(
        x=labels,
        y=values,
        mode="markers+lines",
        name=name,
        marker=dict(symbol=symbol, size=10, color=color),
        hovertemplate=f"%{{x}}: {name} %{value_format}<extra></extra>",
    )


@st.cache_data(show_spinner="Classifying the test set to choose grids…", max_entries=4)
@uses_model
def live_grids(model_name: str, count: int = 50) -> list[Grid]:
    """The first ``count`` pointing-game grids of this model on the configured test set (same procedure as the CLI):
    taken from the stored results when they were computed on this very data, otherwise by classifying the data."""
    from bcos_core.metrics import predict_logits

    stored = stored_results()
    if stored and model_name in stored["models"] and stored["data_fingerprint"] == folder_fingerprint(dataset_images_root("cifar10")):
        return [Grid(tuple(g["images"]), tuple(g["classes"])) for g in stored["models"][model_name]["first_grids"][:count]]
    _, samples = dataset_index("cifar10")
    crops = np.stack([_tile(model_name, path) for path, _ in samples])
    logits = predict_logits(get_model(model_name).model, torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous())
    labels = torch.tensor([label for _, label in samples])
    return sample_grids(confident_images(logits, labels), count)


def _tile(model_name: str, path: str) -> np.ndarray:
    return get_model(model_name).preprocess.to_array(Image.fromarray(load_image(f"data:{path}")))


def grid_pixels(model_name: str, grid: Grid) -> np.ndarray:
    """(3·32, 3·32, 3) uint8 grid image in tile order (tile k = i·3 + j in column i, row j)."""
    _, samples = dataset_index("cifar10")
    tiles = torch.from_numpy(np.stack([_tile(model_name, samples[i][0]) for i in grid.images])).permute(0, 3, 1, 2)
    return compose_grid(tiles.contiguous()).permute(1, 2, 0).numpy()


@st.cache_data(show_spinner="Computing the maps…", max_entries=64)
@uses_model
def live_maps(model_name: str, grid: Grid, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(9, H, W) maps of one method for the grid's nine classes and the nine pointing-game scores."""
    maps = attribution_method(method, get_model(model_name).model)(encode_crop(grid_pixels(model_name, grid))[0], list(grid.classes))
    return maps.numpy(), tile_scores(maps, 9).numpy()


@st.cache_data(show_spinner="Removing pixels…", max_entries=64)
@uses_model
def deletion_curves(model_name: str, crop: np.ndarray, target: int, methods: tuple[str, ...], steps: int = 20) -> DeletionCurves:
    """``bcos_core.attribution.deletion_curves`` of a crop, cached per model, crop, class and methods."""
    return attribution.deletion_curves(get_model(model_name).model, encode_crop(crop)[0], target, methods, steps)


def deletion_figure(curves: DeletionCurves, class_name: str) -> go.Figure:
    """Solid: most relevant pixels removed first; dashed: least relevant first; dotted grey: random order."""
    fig = go.Figure()
    for method, orders in curves.items():
        gap = deletion_gaps(curves).get(method)
        for order, (fractions, logits) in orders.items():
            dash = {"MoRF": None, "LeRF": "dash", "random": "dot"}[order]
            name = f"{method}, {'most' if order == 'MoRF' else 'least'} relevant first" if gap is not None else method
            name += f" (gap {gap:.2f})" if order == "MoRF" else ""
            fig.add_trace(
                go.Scatter(
                    x=100 * fractions.numpy(),
                    y=logits.numpy(),
                    mode="lines",
                    name=name,
                    legendgroup=method,
                    line=dict(color=METHOD_COLORS.get(method, "#bbbbbb"), dash=dash),
                )
            )
    fig.update_xaxes(title="pixels removed (%)")
    fig.update_yaxes(title=f"logit of {class_name}")
    fig.update_layout(height=400, margin=dict(l=4, r=4, t=10, b=4), legend=dict(orientation="h", y=-0.25))
    return fig


def findings(results: dict) -> list[str]:
    """Plain-language comparison of the stored numbers with the paper's claims (computed, so never out of date)."""
    models = results["models"]
    lines = []
    for name, model in models.items():
        methods = model["methods"]
        if BCOS not in methods or len(methods) < 2:
            continue
        own = methods[BCOS].get("mean_on_posthoc_grids", methods[BCOS]["mean"])
        best_name, best = max(((m, e["mean"]) for m, e in methods.items() if m != BCOS), key=lambda item: item[1])
        if own > best:
            lines.append(
                f"**{name}**: the model-inherent contributions localise best (mean {own:.3f} on the post-hoc grids; best post-hoc: "
                f"{best_name}, {best:.3f}), as in the paper."
            )
        else:
            lines.append(
                f"**{name}**: unlike the paper, {best_name} localises as well or better ({best:.3f}) than the model-inherent "
                f"contributions ({own:.3f}) on these grids."
            )
    main, baselines, _ = model_groups(results)
    if baselines and main and BCOS in models[main[0]]["methods"]:
        best_name, best = max(((m, e["mean"]) for m, e in models[baselines[0]]["methods"].items()), key=lambda item: item[1])
        entry = models[main[0]]["methods"][BCOS]
        own = entry.get("mean_on_posthoc_grids", entry["mean"])
        if own > best:
            lines.append(
                f"The B-cos model's own contributions ({own:.3f}) localise better than every post-hoc explanation of the conventional "
                f"ReLU baseline (best: {best_name}, {best:.3f}), as in the paper."
            )
        else:
            pixel_level = max(
                (e["mean"] for m, e in models[baselines[0]]["methods"].items() if m not in COARSE_METHODS), default=float("nan")
            )
            lines.append(
                f"Unlike the paper, {best_name} on the conventional ReLU baseline ({best:.3f}) localises better than the B-cos model's "
                "own contributions "
                f"({own:.3f}, each model on its own first {results['posthoc_grids']} grids). Grad-CAM and Occlusion give coarse maps "
                "(one value per "
                f"feature cell or patch), which suits whole tiles; the baseline's best pixel-level method reaches {pixel_level:.3f}."
            )
    return lines


def family_findings(quality: dict, family: list[str]) -> list[str]:
    """Whether localisation (paper's smoothing) and alignment rise with B, as in the paper, and the colour error falls
    (where every member has it), computed from the stored numbers."""
    if len(family) < 2:
        return []
    models, smooth = quality["models"], str(quality["smoothings"][0])
    measures = [
        (f"mean localisation (smoothing {smooth})", [models[n]["localisation"][smooth]["mean"] for n in family], "rise"),
        ("alignment", [models[n]["alignment"]["mean"] for n in family], "rise"),
    ]
    if all(models[n].get("colour") for n in family):  # the paper's pictures: more of the image's own colours at higher B
        measures.append(("colour error", [models[n]["colour"]["error"] for n in family], "fall"))
    lines = []
    for what, values, expected in measures:
        ordered = all(a < b if expected == "rise" else a > b for a, b in zip(values, values[1:]))
        monotonic = f"{expected}s monotonically with B, as in the paper"
        trend = monotonic if ordered else f"does not {expected} monotonically with B, unlike the paper"
        lines.append(f"B family: {what} " + ", ".join(f"B {models[n]['b']:g} → {v:.3f}" for n, v in zip(family, values)) + f"; it {trend}.")
    return lines
