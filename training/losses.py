"""BCE losses of B-cos training (v2): one-hot targets, or 1 on the label and 1/C elsewhere."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def bce_loss(logits: Tensor, labels: Tensor, kind: str = "bce") -> Tensor:
    """Mean binary cross-entropy over all logits; ``kind`` is "bce" or "uniform_off_labels"."""
    num_classes = logits.shape[-1]
    targets = F.one_hot(labels, num_classes).to(logits.dtype)
    if kind == "uniform_off_labels":
        targets = targets.clamp(min=1.0 / num_classes)
    elif kind != "bce":
        raise ValueError(f"unknown loss {kind!r}; use 'bce' or 'uniform_off_labels'")
    return F.binary_cross_entropy_with_logits(logits, targets)
