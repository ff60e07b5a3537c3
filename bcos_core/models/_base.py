"""The contract every zoo model follows."""

from __future__ import annotations

from torch import Tensor, nn

from ..layers import BatchNormUncentered2d, DetachablePositionNorm2d, LogitLayer

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
    """

    classifier: nn.Module
    logit_layer: LogitLayer
    num_classes: int

    def forward_features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward_head(self, features: Tensor) -> Tensor:
        out = self.classifier(features)
        out = out.mean(dim=(2, 3)) if out.dim() == 4 else out
        return self.logit_layer(out)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    @property
    def logit_bias(self) -> float:
        """The constant additive term of every logit (reported separately by explanations)."""
        return float(self.logit_layer.bias or 0.0)
