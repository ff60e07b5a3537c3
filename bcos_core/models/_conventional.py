"""Conventional (non-B-cos) baselines: the same layouts with ordinary conv + BatchNorm + ReLU units.

They exist to measure what B-cos buys (paper Sec. 5.2): trained with the same pipeline and explained only
post hoc. They keep the 6-channel [x, 1 − x] input so that data, training and attribution code are shared;
an ordinary conv on [x, 1 − x] is just a conv on x plus a bias.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from ..layers import LogitLayer
from ._architectures import register_architecture
from ._base import BcosClassifier


def _conv_bn_relu(in_channels: int, out_channels: int, pool: bool = False) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)]
    if pool:
        layers.append(nn.AvgPool2d(2))
    return layers + [nn.BatchNorm2d(out_channels), nn.ReLU()]  # not in place: Captum's DeepLIFT hooks need the input


class ConventionalFastNet(BcosClassifier):
    """BcosFastNet's layout (stem, three conv–pool–norm–conv–norm blocks, 1×1 classifier, mean) with ReLU units."""

    def __init__(self, num_classes: int = 10, widths: tuple[int, int, int, int] = (32, 64, 256, 256)) -> None:
        super().__init__()
        stem, w1, w2, w3 = widths
        self.stem = nn.Sequential(*_conv_bn_relu(6, stem))
        self.block1 = nn.Sequential(*_conv_bn_relu(stem, w1, pool=True), *_conv_bn_relu(w1, w1))
        self.block2 = nn.Sequential(*_conv_bn_relu(w1, w2, pool=True), *_conv_bn_relu(w2, w2))
        self.block3 = nn.Sequential(*_conv_bn_relu(w2, w3, pool=True), *_conv_bn_relu(w3, w3))
        self.classifier = nn.Conv2d(w3, num_classes, 1)
        self.num_classes = num_classes
        self.logit_layer = LogitLayer(None, -math.log(num_classes - 1))

    def forward_features(self, x: Tensor) -> Tensor:
        return self.block3(self.block2(self.block1(self.stem(x))))


@register_architecture("conventional_fastnet_cifar10", dataset="cifar10", input_size=32, bcos=False)
def conventional_fastnet(*, num_classes: int = 10, widths: tuple[int, int, int, int] = (32, 64, 256, 256)) -> ConventionalFastNet:
    """The default model's architecture with conv + BatchNorm + ReLU: the post-hoc-only baseline."""
    return ConventionalFastNet(num_classes, tuple(widths))
