"""The one layer vocabulary: which layers' neurons B-cos Explorer offers, indexes and explains, and which layers cut a
network in two for circuits."""

from __future__ import annotations

from torch import nn

from ._conv import BcosConv2d
from ._linear import BcosLinear


def explorable_layers(model: nn.Module) -> list[str]:
    """Module names of every B-cos layer (conv or linear), in definition order. The neuron explorer offers them, the
    neuron index builds them by default and the gallery shows them, so a page never offers a layer the index lacks
    (norms only rescale a B-cos layer's output, so their neurons would repeat it)."""
    return [name for name, module in model.named_modules() if isinstance(module, (BcosConv2d, BcosLinear))]


def circuit_layers(model: nn.Module) -> list[str]:
    """Layers whose output separates the network's input from everything after it, in forward order: every B-cos
    layer that no skip connection goes around, and every block with a skip connection (a residual block, a dense block,
    a transformer encoder) as a whole. Everything downstream of such a layer depends on the input only through its
    output, so in explanation mode a later score is exactly linear in it (``bcos_core.circuits``). A plain network's
    cuts are its explorable layers; a ResNet's are its stem, its blocks and its classifier."""
    cuts: list[str] = []
    bypassed: list[str] = []  # blocks with a skip connection: their children are not cuts
    for name, module in model.named_modules():
        if any(name.startswith(prefix + ".") for prefix in bypassed):
            continue
        if getattr(module, "has_skip_connection", False):
            bypassed.append(name)
            cuts.append(name)
        elif isinstance(module, (BcosConv2d, BcosLinear)):
            cuts.append(name)
    return cuts
