"""UI-independent steps shared by the Streamlit pages and the Gradio demo: render options, reduce an explanation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

import bcos_core
from bcos_core.render import rgba_from_map


@dataclass(frozen=True)
class RenderOptions:
    """How explanations are drawn: alpha smoothing (odd box), alpha percentile and the colour they are composited on."""

    smooth: int = 3
    percentile: float = 99.5
    background: str = "black"


@dataclass(frozen=True)
class ExplainedMap:
    """An explanation reduced to what the UI draws, with the numbers of its exactness readout.

    It keeps the linear map rather than a rendered picture, so moving a rendering control redraws it without
    running the model again.
    """

    target: int | tuple[int, int]
    logit: float
    bias: float
    contributions: np.ndarray  # (H, W)
    linear_map: np.ndarray  # (C, H, W) float32, the explained row of W(x)
    contribution_sum: float
    receptive_field: tuple[int, int, int, int] | None = None
    activation: float | None = None
    constant_terms: dict[str, float] = field(default_factory=dict)  # a ViT's positional embedding; none for CNNs

    @property
    def explained(self) -> float:
        """Σ contributions + Σ constant terms + bias: what the explanation says the output is."""
        return self.contribution_sum + sum(self.constant_terms.values()) + self.bias

    def readout_text(self, output: str = "logit") -> str:
        """The exactness certificate in one line: every summand, their total and the model's own output."""
        terms = "".join(f" + {name} {value:.5f}" for name, value in self.constant_terms.items())
        return (
            f"Σ contributions {self.contribution_sum:.5f}{terms} + bias {self.bias:.5f} = {self.explained:.5f}; model's {output} "
            f"{self.logit:.5f}"
        )

    def rgba(self, render: RenderOptions) -> np.ndarray:
        """(H, W, 4) the paper's RGBA explanation at the given smoothing and percentile."""
        return rgba_from_map(torch.from_numpy(self.linear_map), torch.from_numpy(self.contributions), render.smooth, render.percentile)


def reduce_explanation(expl: bcos_core.Explanation) -> ExplainedMap:
    contributions = expl.contributions.double().numpy()
    extra = {}
    if isinstance(expl, bcos_core.NeuronExplanation):
        extra = {"receptive_field": expl.receptive_field, "activation": expl.activation}
    return ExplainedMap(
        expl.target,
        expl.logit,
        expl.bias,
        contributions,
        expl.linear_map.detach().float().numpy(),
        float(contributions.sum()),
        constant_terms=dict(expl.constant_terms),
        **extra,
    )
