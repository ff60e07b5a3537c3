"""B-cos DenseNet-121/161/169/201 as in B-cos v2; state dicts match v2's keys (``features.denseblockK.denselayerJ…``)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..layers import BcosConv2d, LogitLayer, OutputEmitter
from ._architectures import register_architecture
from ._base import BcosClassifier, make_norm


class _DenseLayer(nn.Module):
    def __init__(self, in_features: int, growth_rate: int, bn_size: int, b: float, norm: str) -> None:
        super().__init__()
        self.norm1 = make_norm(norm, in_features)
        self.conv1 = BcosConv2d(in_features, bn_size * growth_rate, 1, b=b)
        self.norm2 = make_norm(norm, bn_size * growth_rate)
        self.conv2 = BcosConv2d(bn_size * growth_rate, growth_rate, 3, 1, 1, b=b)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.norm2(self.conv1(self.norm1(x))))


class _DenseBlock(nn.ModuleDict, OutputEmitter):
    has_skip_connection = True  # every layer's input is concatenated into the output: only the block's output is a cut

    def __init__(self, num_layers: int, in_features: int, growth_rate: int, bn_size: int, b: float, norm: str) -> None:
        super().__init__()
        for index in range(num_layers):
            self.add_module(f"denselayer{index + 1}", _DenseLayer(in_features + index * growth_rate, growth_rate, bn_size, b, norm))

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, 1)))
        return self.emit(torch.cat(features, 1))


class _Transition(nn.Sequential):
    def __init__(self, in_features: int, out_features: int, b: float, norm: str) -> None:
        super().__init__()
        self.norm = make_norm(norm, in_features)
        self.conv = BcosConv2d(in_features, out_features, 1, b=b)
        self.pool = nn.AvgPool2d(2, 2)


class BcosDenseNet(BcosClassifier):
    """DenseNet-BC with B-cos convs, bias-free norms and average pooling."""

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: tuple[int, ...] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        *,
        num_classes: int = 1000,
        b: float = 2.0,
        norm: str = "bnu",
    ) -> None:
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv0", BcosConv2d(6, num_init_features, 7, 2, 3, b=b))
        self.features.add_module("norm0", make_norm(norm, num_init_features))
        self.features.add_module("pool0", nn.AvgPool2d(3, 2, 1))
        channels = num_init_features
        for index, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{index + 1}", _DenseBlock(num_layers, channels, growth_rate, bn_size, b, norm))
            channels += num_layers * growth_rate
            if index != len(block_config) - 1:
                self.features.add_module(f"transition{index + 1}", _Transition(channels, channels // 2, b, norm))
                channels //= 2
        self.features.add_module("norm5", make_norm(norm, channels))
        self.classifier = BcosConv2d(channels, num_classes, 1, b=b)
        self.num_classes = num_classes
        self.logit_layer = LogitLayer(None, -math.log(num_classes - 1))

    def forward_features(self, x: Tensor) -> Tensor:
        return self.features(x)


@register_architecture("bcos_densenet121_imagenet", dataset="imagenet", input_size=224)
def bcos_densenet121_imagenet(*, b: float = 2.0, norm: str = "bnu", num_classes: int = 1000) -> BcosDenseNet:
    """ImageNet DenseNet-121 of B-cos v2 (``bcos.pretrained.densenet121``)."""
    return BcosDenseNet(32, (6, 12, 24, 16), 64, num_classes=num_classes, b=b, norm=norm)


@register_architecture("bcos_densenet161_imagenet", dataset="imagenet", input_size=224)
def bcos_densenet161_imagenet(*, b: float = 2.0, norm: str = "bnu", num_classes: int = 1000) -> BcosDenseNet:
    """ImageNet DenseNet-161 of B-cos v2 (``bcos.pretrained.densenet161``): growth 48, 96 initial features."""
    return BcosDenseNet(48, (6, 12, 36, 24), 96, num_classes=num_classes, b=b, norm=norm)


@register_architecture("bcos_densenet169_imagenet", dataset="imagenet", input_size=224)
def bcos_densenet169_imagenet(*, b: float = 2.0, norm: str = "bnu", num_classes: int = 1000) -> BcosDenseNet:
    """ImageNet DenseNet-169 of B-cos v2 (``bcos.pretrained.densenet169``)."""
    return BcosDenseNet(32, (6, 12, 32, 32), 64, num_classes=num_classes, b=b, norm=norm)


@register_architecture("bcos_densenet201_imagenet", dataset="imagenet", input_size=224)
def bcos_densenet201_imagenet(*, b: float = 2.0, norm: str = "bnu", num_classes: int = 1000) -> BcosDenseNet:
    """ImageNet DenseNet-201 of B-cos v2 (``bcos.pretrained.densenet201``)."""
    return BcosDenseNet(32, (6, 12, 48, 32), 64, num_classes=num_classes, b=b, norm=norm)
