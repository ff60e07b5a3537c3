"""Classification metrics shared by ``training.evaluate`` and the app."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor, nn
from tqdm import tqdm

from .explain import predicted_linear_maps
from .layers import running_statistics
from .preprocessing import encode_images


@torch.no_grad()
def predict_logits(model: nn.Module, images: Tensor, batch_size: int = 500, bf16: bool = False, progress: bool = False) -> Tensor:
    """Logits for (N, 3, H, W) uint8/float images, in batches (float32 result)."""
    outputs = []
    batches = range(0, len(images), batch_size)
    for start in tqdm(batches, desc="evaluating", unit="batch", disable=not progress, leave=False):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), running_statistics(model):
            outputs.append(model(encode_images(images[start : start + batch_size])).float())
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
) -> dict[str, Any]:
    """:func:`classification_report` plus measured throughput (images per second)."""
    start = time.perf_counter()
    logits = predict_logits(model, images, batch_size, bf16, progress)
    seconds = time.perf_counter() - start
    report = classification_report(logits, labels, class_names)
    report["images_per_second"] = round(len(labels) / seconds, 1) if seconds > 0 else None
    return report


def explanation_alignment(model: nn.Module, images: Tensor, batch_size: int = 250, progress: bool = False) -> tuple[Tensor, Tensor]:
    """(cosines (N,), logits (N, classes)): cos(W(x), x) of each image's predicted class over all input dimensions.

    The paper's measure of how well the dynamic linear map aligns with the input it explains: B-cos training
    maximises it through the |cos|^(B−1) factor of every layer (a B = 1 network need not align at all).
    """
    cosines, all_logits = [], []
    for start in tqdm(range(0, len(images), batch_size), desc="alignment", unit="batch", disable=not progress, leave=False):
        x = encode_images(images[start : start + batch_size])
        logits, maps = predicted_linear_maps(model, x)
        cosines.append(torch.nn.functional.cosine_similarity(maps.flatten(1).double(), x.flatten(1).double(), dim=1).float())
        all_logits.append(logits)
    return (torch.cat(cosines), torch.cat(all_logits)) if cosines else (torch.empty(0), torch.empty(0))
