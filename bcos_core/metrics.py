"""Classification metrics shared by ``training.evaluate`` and the app."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from tqdm import tqdm

from .compilation import compiled_if_worthwhile
from .explain import predicted_layer_maps, predicted_linear_maps
from .layers import circuit_layers, running_statistics
from .preprocessing import encode_images
from .render import explanation_to_rgba


@torch.no_grad()
def predict_logits(
    model: nn.Module, images: Tensor, batch_size: int = 500, bf16: bool = False, progress: bool = False, compile: str = "off"
) -> Tensor:
    """Logits for (N, 3, H, W) uint8/float images, in batches (float32 result); ``compile``: "auto", "on" or "off"
    (:func:`~bcos_core.compilation.compiled_if_worthwhile`)."""
    outputs = []
    forward = compiled_if_worthwhile(model, compile, len(images))
    batches = range(0, len(images), batch_size)
    for start in tqdm(batches, desc="evaluating", unit="batch", disable=not progress, leave=False):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), running_statistics(model):
            outputs.append(forward(encode_images(images[start : start + batch_size])).float())
    return torch.cat(outputs) if outputs else torch.empty(0)


def classification_report(logits: Tensor, labels: Tensor, class_names: list[str]) -> dict[str, Any]:
    """Accuracy, per-class accuracy and confusion matrix (rows: true class, columns: predicted)."""
    num_classes = len(class_names)
    predictions = logits.argmax(1)
    confusion = torch.bincount(labels * num_classes + predictions, minlength=num_classes**2).view(num_classes, num_classes)
    per_class = confusion.diag().float() / confusion.sum(1).clamp(min=1).float()
    return {
        "accuracy": float((predictions == labels).float().mean()) if len(labels) else float("nan"),
        "per_class_accuracy": {name: round(float(acc), 4) for name, acc in zip(class_names, per_class)},
        "confusion_matrix": confusion.tolist(),
        "num_images": len(labels),
    }


def evaluate_classifier(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    class_names: list[str],
    batch_size: int = 500,
    bf16: bool = False,
    progress: bool = False,
    compile: str = "off",
) -> dict[str, Any]:
    """:func:`classification_report` plus measured throughput (images per second, compilation included)."""
    start = time.perf_counter()
    logits = predict_logits(model, images, batch_size, bf16, progress, compile)
    seconds = time.perf_counter() - start
    report = classification_report(logits, labels, class_names)
    report["images_per_second"] = round(len(labels) / seconds, 1) if seconds > 0 else None
    return report


def explanation_alignment(model: nn.Module, images: Tensor, batch_size: int = 250, progress: bool = False) -> tuple[Tensor, Tensor]:
    """(cosines (N,), logits (N, classes)): cos(W(x), x) of each image's predicted class over all input dimensions.

    The paper's measure of how well the dynamic linear map aligns with the input it explains: B-cos training
    maximises it through the |cos|^(B−1) factor of every layer (a B = 1 network need not align at all).
    """
    cosines, logits = alignment_by_layer(model, images, (), batch_size, progress)
    return cosines["input"], logits


def alignment_by_layer(
    model: nn.Module, images: Tensor, layers: Sequence[str] | None = None, batch_size: int = 250, progress: bool = False
) -> tuple[dict[str, Tensor], Tensor]:
    """({"input" and each layer: cosines (N,)}, logits (N, classes)): the alignment of :func:`explanation_alignment`
    measured at the input and at the output of each layer, cos(W_L(x), a_L) with a_L the layer's output and W_L(x)
    the predicted class's linear map from it (:func:`bcos_core.explain.predicted_layer_maps`).

    ``layers`` defaults to every cut of the network below its classifier (:func:`bcos_core.layers.circuit_layers`),
    so the profile says at which depth the explanation's alignment is won or lost.
    """
    names = list(circuit_layers(model)[:-1] if layers is None else layers)
    cosines: dict[str, list[Tensor]] = {name: [] for name in ["input", *names]}
    all_logits = []
    for start in tqdm(range(0, len(images), batch_size), desc="alignment", unit="batch", disable=not progress, leave=False):
        logits, maps = predicted_layer_maps(model, encode_images(images[start : start + batch_size]), names)
        for name, (output, linear_map) in maps.items():
            cosine = torch.nn.functional.cosine_similarity(linear_map.flatten(1).double(), output.flatten(1).double(), dim=1)
            cosines[name].append(cosine.float())
        all_logits.append(logits)
    if not all_logits:
        return {name: torch.empty(0) for name in cosines}, torch.empty(0)
    return {name: torch.cat(values) for name, values in cosines.items()}, torch.cat(all_logits)


def colour_agreement(image: Tensor, linear_map: Tensor, smooth: int = 3, alpha_percentile: float = 99.5) -> dict[str, float]:
    """How the colours of the paper's RGBA explanation (:func:`~bcos_core.render.explanation_to_rgba`) compare with the
    encoded image it explains, each pixel weighted by the explanation's opacity (what a person sees of it).

    "error": mean |explanation colour − image colour| over the visible pixels and the 3 channels (0 where W(x) ∝ x: the
    explanation shows the object's own colours). "roughness" / "image_roughness": mean colour change between
    neighbouring pixels of the explanation / of the image, each pair weighted by its mean opacity: an explanation that
    fills the object with stripes changes colour from pixel to pixel far more than the image does. NaN for a map of
    zeros (nothing is drawn).
    """
    rgba = torch.from_numpy(explanation_to_rgba(image, linear_map, smooth, alpha_percentile)).double()
    shown, alpha, seen = rgba[..., :3], rgba[..., 3], image[:3].detach().double().permute(1, 2, 0)

    def weighted(values: Tensor, weights: Tensor) -> float:
        total = float(weights.sum())
        return float((values * weights).sum()) / total if total > 0 else float("nan")

    def roughness(rgb: Tensor) -> float:
        across = (rgb[:, 1:] - rgb[:, :-1]).abs().mean(-1), (alpha[:, 1:] + alpha[:, :-1]) / 2
        down = (rgb[1:] - rgb[:-1]).abs().mean(-1), (alpha[1:] + alpha[:-1]) / 2
        return weighted(torch.cat([across[0].flatten(), down[0].flatten()]), torch.cat([across[1].flatten(), down[1].flatten()]))

    return {"error": weighted((shown - seen).abs().mean(-1), alpha), "roughness": roughness(shown), "image_roughness": roughness(seen)}


def explanation_colours(
    model: nn.Module, images: Tensor, smooth: int = 3, alpha_percentile: float = 99.5, batch_size: int = 250, progress: bool = False
) -> dict[str, float]:
    """:func:`colour_agreement` of each image's predicted-class explanation, over (N, 3, H, W) images: the mean colour
    error, and the roughness ratio (mean roughness of the explanations over that of the images; 1: as smooth as the
    images, striped fills ≫ 1), with the number of images that had a drawn explanation."""
    measured = []
    for start in tqdm(range(0, len(images), batch_size), desc="colours", unit="batch", disable=not progress, leave=False):
        x = encode_images(images[start : start + batch_size])
        _, maps = predicted_linear_maps(model, x)
        measured += [colour_agreement(image, linear_map, smooth, alpha_percentile) for image, linear_map in zip(x, maps)]
    values = {key: torch.tensor([m[key] for m in measured], dtype=torch.float64) for key in ("error", "roughness", "image_roughness")}
    visible = ~values["error"].isnan()
    return {
        "error": float(values["error"][visible].mean()),
        "roughness_ratio": float(values["roughness"][visible].mean() / values["image_roughness"][visible].mean()),
        "images": int(visible.sum()),
    }
