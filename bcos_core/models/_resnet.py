"""B-cos ResNets as in B-cos v2 (ImageNet ResNet-18/34/50/101/152 and ResNeXt-50 32×4d, CIFAR ResNet-20/-56); state
dicts match v2's keys."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ..layers import BcosConv2d, LogitLayer, OutputEmitter
from ._architectures import register_architecture
from ._base import BcosClassifier, make_norm


class BasicBlock(OutputEmitter):
    expansion = 1
    has_skip_connection = True  # the block's output is a cut of the network (circuits), its convs' outputs are not

    def __init__(
        self, in_planes: int, planes: int, stride: int, b: float, max_out: int, norm: str, groups: int = 1, base_width: int = 64
    ) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("the basic block has no groups or width factor (use the bottleneck)")
        self.conv1 = BcosConv2d(in_planes, planes, 3, stride, 1, b=b, max_out=max_out)
        self.bn1 = make_norm(norm, planes)
        self.conv2 = BcosConv2d(planes, planes, 3, 1, 1, b=b, max_out=max_out)
        self.bn2 = make_norm(norm, planes)
        self.downsample = _downsample(in_planes, planes * self.expansion, stride, b, max_out, norm)

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.bn1(self.conv1(x))))
        return self.emit(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(OutputEmitter):
    expansion = 4
    has_skip_connection = True

    def __init__(
        self, in_planes: int, planes: int, stride: int, b: float, max_out: int, norm: str, groups: int = 1, base_width: int = 64
    ) -> None:
        super().__init__()
        out_planes = planes * self.expansion
        width = int(planes * base_width / 64) * groups  # ResNeXt: grouped 3×3 conv of this width
        self.conv1 = BcosConv2d(in_planes, width, 1, b=b, max_out=max_out)
        self.bn1 = make_norm(norm, width)
        self.conv2 = BcosConv2d(width, width, 3, stride, 1, groups=groups, b=b, max_out=max_out)
        self.bn2 = make_norm(norm, width)
        self.conv3 = BcosConv2d(width, out_planes, 1, b=b, max_out=max_out)
        self.bn3 = make_norm(norm, out_planes)
        self.downsample = _downsample(in_planes, out_planes, stride, b, max_out, norm)

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(self.conv1(x))
        out = self.bn3(self.conv3(self.bn2(self.conv2(out))))
        return self.emit(out + (x if self.downsample is None else self.downsample(x)))


def _downsample(in_planes: int, out_planes: int, stride: int, b: float, max_out: int, norm: str) -> nn.Module | None:
    if stride == 1 and in_planes == out_planes:
        return None
    return nn.Sequential(BcosConv2d(in_planes, out_planes, 1, stride, b=b, max_out=max_out), make_norm(norm, out_planes))


class BcosResNet(BcosClassifier):
    """B-cos ResNet: no ReLU, average instead of max pooling, 1×1 B-cos classifier before global pooling."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        *,
        num_classes: int,
        inplanes: int = 64,
        small_inputs: bool = False,
        b: float = 2.0,
        max_out: int = 1,
        norm: str = "bnu",
        logit_bias: float | None = None,
        groups: int = 1,
        width_per_group: int = 64,
    ) -> None:
        super().__init__()
        if small_inputs:
            self.conv1 = BcosConv2d(6, inplanes, 3, 1, 1, b=b, max_out=max_out)
            self.pool = None
        else:
            self.conv1 = BcosConv2d(6, inplanes, 7, 2, 3, b=b, max_out=max_out)
            self.pool = nn.AvgPool2d(3, 2, 1)
        self.bn1 = make_norm(norm, inplanes)
        stages, channels = [], inplanes
        for index, depth in enumerate(layers):
            planes = inplanes * 2**index
            blocks = []
            for position in range(depth):
                stride = 2 if index > 0 and position == 0 else 1
                blocks.append(block(channels, planes, stride, b, max_out, norm, groups, width_per_group))
                channels = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages[:3]
        self.layer4 = stages[3] if len(stages) > 3 else None
        self.classifier = BcosConv2d(channels, num_classes, 1, b=b, max_out=max_out)
        self.num_classes = num_classes
        self.logit_layer = LogitLayer(None, -math.log(num_classes - 1) if logit_bias is None else logit_bias)

    @property
    def fc(self) -> BcosConv2d:
        """v2's name for the classifier."""
        return self.classifier

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.bn1(self.conv1(x))
        if self.pool is not None:
            x = self.pool(x)
        x = self.layer3(self.layer2(self.layer1(x)))
        return x if self.layer4 is None else self.layer4(x)


@register_architecture("bcos_resnet20_cifar10", dataset="cifar10", input_size=32)
def bcos_resnet20_cifar10(*, b: float = 2.0, max_out: int = 1, norm: str = "bnu", num_classes: int = 10) -> BcosResNet:
    """CIFAR ResNet-20 of B-cos v2 (``bcos.models.cifar10_resnet20``): 3×3 stem, 16/32/64 channels."""
    return BcosResNet(BasicBlock, [3, 3, 3], num_classes=num_classes, inplanes=16, small_inputs=True, b=b, max_out=max_out, norm=norm)


@register_architecture("bcos_resnet56_cifar10", dataset="cifar10", input_size=32)
def bcos_resnet56_cifar10(*, b: float = 2.0, max_out: int = 1, norm: str = "bnu", num_classes: int = 10) -> BcosResNet:
    """CIFAR ResNet-56 of B-cos v2 (``bcos.models.cifar10_resnet56``)."""
    return BcosResNet(BasicBlock, [9, 9, 9], num_classes=num_classes, inplanes=16, small_inputs=True, b=b, max_out=max_out, norm=norm)


@register_architecture("bcos_resnet18_imagenet", dataset="imagenet", input_size=224)
def bcos_resnet18_imagenet(*, b: float = 2.0, max_out: int = 1, norm: str = "bnu", num_classes: int = 1000) -> BcosResNet:
    """ImageNet ResNet-18 of B-cos v2 (``bcos.pretrained.resnet18``; uncentered BN, logit bias −log 999)."""
    return BcosResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, b=b, max_out=max_out, norm=norm)


@register_architecture("bcos_resnet50_imagenet", dataset="imagenet", input_size=224)
def bcos_resnet50_imagenet(*, b: float = 2.0, max_out: int = 1, norm: str = "bnu", num_classes: int = 1000) -> BcosResNet:
    """ImageNet ResNet-50 of B-cos v2 (``bcos.pretrained.resnet50``)."""
    return BcosResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes, b=b, max_out=max_out, norm=norm)


@register_architecture("bcos_resnet34_imagenet", dataset="imagenet", input_size=224)
def bcos_resnet34_imagenet(*, b: float = 2.0, max_out: int = 1, norm: str = "bnu", num_classes: int = 1000) -> BcosResNet:
    """ImageNet ResNet-34 of B-cos v2 (``bcos.pretrained.resnet34``)."""
    return BcosResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes, b=b, max_out=max_out, norm=norm)


@register_architecture("bcos_resnet101_imagenet", dataset="imagenet", input_size=224)
def bcos_resnet101_imagenet(*, b: float = 2.0, max_out: int = 1, norm: str = "bnu", num_classes: int = 1000) -> BcosResNet:
    """ImageNet ResNet-101 of B-cos v2 (``bcos.pretrained.resnet101``)."""
    return BcosResNet(Bottleneck, [3, 4, 23, 3], num_classes=num_classes, b=b, max_out=max_out, norm=norm)


@register_architecture("bcos_resnet152_imagenet", dataset="imagenet", input_size=224)
def bcos_resnet152_imagenet(*, b: float = 2.0, max_out: int = 1, norm: str = "bnu", num_classes: int = 1000) -> BcosResNet:
    """ImageNet ResNet-152 of B-cos v2 (``bcos.pretrained.resnet152``, and ``resnet152_long``)."""
    return BcosResNet(Bottleneck, [3, 8, 36, 3], num_classes=num_classes, b=b, max_out=max_out, norm=norm)


@register_architecture("bcos_resnext50_32x4d_imagenet", dataset="imagenet", input_size=224)
def bcos_resnext50_32x4d_imagenet(*, b: float = 2.0, max_out: int = 1, norm: str = "bnu", num_classes: int = 1000) -> BcosResNet:
    """ImageNet ResNeXt-50 32×4d of B-cos v2 (``bcos.pretrained.resnext50_32x4d``): grouped 3×3 convs, 32 groups of 4."""
    return BcosResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes, b=b, max_out=max_out, norm=norm, groups=32, width_per_group=4)
