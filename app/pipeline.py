"""UI-independent steps shared by the Streamlit pages and the Gradio demo: encode a crop, reduce an explanation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import bcos_core
from bcos_core.render import explanation_to_rgba


@dataclass(frozen=True)
class ExplainedMap:
    """An explanation reduced to what the UI draws, with the numbers of its exactness readout."""

    target: int | tuple[int, int]
    logit: float
    bias: float
    contributions: np.ndarray  # (H, W)
    rgba: np.ndarray  # (H, W, 4) paper recipe
    contribution_sum: float
    receptive_field: tuple[int, int, int, int] | None = None
    activation: float | None = None


def encoded(crop: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 crop → (6, H, W) model input."""
    x = torch.from_numpy(np.array(crop, dtype=np.uint8)).permute(2, 0, 1).float() / 255
    return torch.cat([x, 1 - x])


def reduce_explanation(expl: bcos_core.Explanation, smooth: int, percentile: float) -> ExplainedMap:
    contributions = expl.contributions.double().numpy()
    extra = {}
    if isinstance(expl, bcos_core.NeuronExplanation):
        extra = {"receptive_field": expl.receptive_field, "activation": expl.activation}
    return ExplainedMap(
        expl.target, expl.logit, expl.bias, contributions,
        explanation_to_rgba(expl.image, expl.linear_map, smooth, percentile), float(contributions.sum()), **extra,
    )
