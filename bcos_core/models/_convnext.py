"""B-cos ConvNeXt (tiny, base) as in B-cos v2, with position norm ("pn") or uncentred batch norm ("bnu"); state dicts
match v2's keys (``features.{stage}.{block}.block.{0,1,2,3}``, ``layer_scale``, ``classifier.{0,1}``)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..layers import BatchNormUncentered2d, BcosConv2d, DetachablePositionNorm2d, LogitLayer, OutputEmitter
from ._architectures import register_architecture
from ._base import BcosClassifier

_SIZES = {"tiny": ((96, 192, 384, 768), (3, 3, 9, 3)), "base": ((128, 256, 512, 1024), (3, 3, 27, 3))}


def _norm(kind: str, channels: int) -> nn.Module:
    """v2's ConvNeXt norms: position norm with eps 1e-6, or uncentred batch norm."""
    if kind == "pn":
        return DetachablePositionNorm2d(channels, eps=1e-6)
    if kind == "bnu":
        return BatchNormUncentered2d(channels)
    raise ValueError(f"ConvNeXt norm must be 'pn' or 'bnu', not {kind!r}")


class ConvNeXtBlock(OutputEmitter):
    """x + γ ⊙ (1×1 ∘ 1×1 ∘ norm ∘ depthwise 7×7)(x), all B-cos convs and no GELU (the B-cos non-linearity replaces it);
    γ (``layer_scale``) is a learned per-channel constant, so the block stays linear in explanation mode."""

    has_skip_connection = True

    def __init__(self, dim: int, b: float, norm: str, layer_scale: float = 1e-6) -> None:
        super().__init__()
        self.block = nn.Sequential(
            BcosConv2d(dim, dim, 7, padding=3, groups=dim, b=b),
            _norm(norm, dim),
            BcosConv2d(dim, 4 * dim, 1, b=b),
            BcosConv2d(4 * dim, dim, 1, b=b),
        )
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))

    def forward(self, x: Tensor) -> Tensor:
        return self.emit(self.layer_scale * self.block(x) + x)


class BcosConvNeXt(BcosClassifier):
    """4×4 patchify stem → four stages of ConvNeXt blocks with norm + 2×2 B-cos downsampling between them →
    norm + 1×1 B-cos classifier before global average pooling."""

    def __init__(self, size: str = "tiny", *, num_classes: int = 1000, b: float = 2.0, norm: str = "pn") -> None:
        super().__init__()
        widths, depths = _SIZES[size]
        layers: list[nn.Module] = [BcosConv2d(6, widths[0], 4, stride=4, b=b), _norm(norm, widths[0])]
        for index, (width, depth) in enumerate(zip(widths, depths)):
            layers.append(nn.Sequential(*(ConvNeXtBlock(width, b, norm) for _ in range(depth))))
            if index + 1 < len(widths):
                layers.append(nn.Sequential(_norm(norm, width), BcosConv2d(width, widths[index + 1], 2, stride=2, b=b)))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(_norm(norm, widths[-1]), BcosConv2d(widths[-1], num_classes, 1, b=b))
        self.num_classes = num_classes
        self.logit_layer = LogitLayer(None, -math.log(num_classes - 1))

    def forward_features(self, x: Tensor) -> Tensor:
        return self.features(x)


def _register(size: str, norm: str) -> None:
    suffix = "" if norm == "pn" else "_bnu"

    @register_architecture(f"bcos_convnext_{size}{suffix}_imagenet", dataset="imagenet", input_size=224)
    def builder(*, b: float = 2.0, num_classes: int = 1000) -> BcosConvNeXt:
        return BcosConvNeXt(size, num_classes=num_classes, b=b, norm=norm)

    builder.__doc__ = f"ImageNet ConvNeXt-{size} ({norm}) of B-cos v2 (``bcos.pretrained.convnext_{size}{suffix}``)."


for _size in _SIZES:
    for _norm_kind in ("pn", "bnu"):
        _register(_size, _norm_kind)
