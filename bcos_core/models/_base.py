"""The contract every zoo model follows."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..layers import BatchNormUncentered2d, DetachablePositionNorm2d, LogitLayer, reads_layers_only

NormFactory = type[nn.Module]

NORM_LAYERS: dict[str, type[nn.Module] | None] = {
    "bnu": BatchNormUncentered2d,
    "pn": DetachablePositionNorm2d,
    "none": None,
}


def make_norm(kind: str, channels: int) -> nn.Module:
    """A bias-free norm by short name ("bnu", "pn" or "none")."""
    if kind not in NORM_LAYERS:
        raise ValueError(f"unknown norm {kind!r}; choose one of {sorted(NORM_LAYERS)}")
    factory = NORM_LAYERS[kind]
    return nn.Identity() if factory is None else factory(channels)


class BcosClassifier(nn.Module):
    """A B-cos image classifier taking the 6-channel encoded image and returning logits.

    Subclasses provide ``forward_features`` (trunk) and ``classifier`` (a 1×1 B-cos conv applied before
    global average pooling, so that class evidence is per location) and set ``logit_layer``.

    With ``mirror_average`` the class evidence is the mean over the image and its mirror image (left–right), which
    the trunk sees as one batch of 2N rows, the images' own pass first; the mean of two dynamic linear maps is one, so
    explanations stay exact. A request that only reads layers (:func:`bcos_core.layers.forward_to`: neurons, the
    neuron index) runs the images' own pass alone; tools that read layers of the whole pass (circuits, per-layer
    alignment) combine its rows with :func:`bcos_core.layers.fold_mirror_pass`.
    """

    classifier: nn.Module
    logit_layer: LogitLayer
    num_classes: int
    mirror_average: bool = False

    def forward_features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def class_evidence(self, features: Tensor) -> Tensor:
        """(N, classes) evidence before the logit layer: the classifier's output averaged over positions."""
        out = self.classifier(features)
        return out.mean(dim=(2, 3)) if out.dim() == 4 else out

    def forward_head(self, features: Tensor) -> Tensor:
        return self.logit_layer(self.class_evidence(features))

    def forward(self, x: Tensor) -> Tensor:
        if not self.mirror_average or reads_layers_only():
            return self.forward_head(self.forward_features(x))
        evidence = self.class_evidence(self.forward_features(torch.cat([x, x.flip(-1)])))
        return self.logit_layer(evidence.unflatten(0, (2, -1)).mean(0))

    @property
    def logit_bias(self) -> float:
        """The constant additive term of every logit (reported separately by explanations)."""
        return float(self.logit_layer.bias or 0.0)
