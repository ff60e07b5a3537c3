"""The one layer vocabulary: which layers' neurons B-cos Explorer offers, indexes and explains."""

from __future__ import annotations

from torch import nn

from ._conv import BcosConv2d
from ._linear import BcosLinear


def explorable_layers(model: nn.Module) -> list[str]:
    """Module names of every B-cos layer (conv or linear), in definition order. The neuron explorer offers them, the
    neuron index builds them by default and the gallery shows them, so a page never offers a layer the index lacks
    (norms only rescale a B-cos layer's output, so their neurons would repeat it)."""
    return [name for name, module in model.named_modules() if isinstance(module, (BcosConv2d, BcosLinear))]
