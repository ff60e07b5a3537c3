"""B-cos VGG-11 with uncentred batch norm as in B-cos v2 (``bcos.pretrained.vgg11_bnu``); state dicts match v2's keys."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ..layers import BcosConv2d, LogitLayer
from ._architectures import register_architecture
from ._base import BcosClassifier, make_norm

VGG11_LAYOUT = (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool", 512, 512, "pool")


class BcosVGG(BcosClassifier):
    """3×3 B-cos convs each followed by a bias-free norm, 2×2 average pooling; the classifier is three B-cos convs
    (7×7 → 1×1 → 1×1, v2's fully-connected layers as convolutions) before global average pooling."""

    def __init__(self, layout: tuple = VGG11_LAYOUT, *, num_classes: int = 1000, b: float = 2.0, norm: str = "bnu") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 6
        for item in layout:
            if item == "pool":
                layers.append(nn.AvgPool2d(2, 2))
            else:
                layers += [BcosConv2d(channels, item, 3, padding=1, b=b), make_norm(norm, item)]
                channels = item
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            BcosConv2d(channels, 4096, 7, padding=3, b=b), BcosConv2d(4096, 4096, 1, b=b), BcosConv2d(4096, num_classes, 1, b=b)
        )
        self.num_classes = num_classes
        self.logit_layer = LogitLayer(None, -math.log(num_classes - 1))

    def forward_features(self, x: Tensor) -> Tensor:
        return self.features(x)


@register_architecture("bcos_vgg11_bnu_imagenet", dataset="imagenet", input_size=224)
def bcos_vgg11_bnu_imagenet(*, b: float = 2.0, norm: str = "bnu", num_classes: int = 1000) -> BcosVGG:
    """ImageNet VGG-11 with uncentred batch norm of B-cos v2 (``bcos.pretrained.vgg11_bnu``)."""
    return BcosVGG(VGG11_LAYOUT, num_classes=num_classes, b=b, norm=norm)
