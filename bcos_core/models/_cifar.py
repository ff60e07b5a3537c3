"""Plain (non-residual) B-cos CNNs for 32×32 images: the paper's 9-layer network and our fast CPU network."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ..layers import BcosConv2d, LogitLayer
from ._architectures import register_architecture
from ._base import BcosClassifier, make_norm

# v1 layer scale 10^(−2 + 1.5·(2.5 − B)) and output temperature 10^T_B (paper code, CIFAR-10). B-cos layers are
# positively homogeneous, so the nine scales could fold into the temperature in exact arithmetic, but not numerically:
# without them activations shrink layer by layer below the 1e-6 inside the patch norm and training collapses.
_V1_TEMPERATURE_EXPONENT = {1.0: -3, 1.25: -3, 1.5: -2, 1.75: 1, 2.0: 2, 2.25: 2, 2.5: 3}


def _v1_scales(b: float) -> tuple[float, float]:
    """(per-layer scale, logit temperature) of the v1 CIFAR-10 network for this B."""
    exponent = _V1_TEMPERATURE_EXPONENT.get(b)
    if exponent is None:
        raise ValueError(f"the paper trained the 9-layer network for B in {sorted(_V1_TEMPERATURE_EXPONENT)}, not {b}")
    return 10 ** (-2 + 1.5 * (2.5 - b)), 10.0**exponent


class BcosVGG9(BcosClassifier):
    """The paper's 9-layer CIFAR-10 network (Böhle et al., CVPR 2022, Sec. 5): 9 B-cos convs, no norms.

    ``norm`` (a norm after each hidden conv) and ``downsample="avgpool"`` (stride-1 conv, then 2×2 average pooling,
    where the paper strides) carry over the FastNet's two design choices one at a time, for the study of which of them
    makes the FastNet's striped explanations.
    """

    paper_widths = (64, 64, 128, 128, 128, 256, 256, 256)
    strides = (1, 1, 2, 1, 1, 2, 1, 1)

    def __init__(
        self,
        num_classes: int = 10,
        b: float = 2.0,
        max_out: int = 2,
        v1_scales: bool = True,
        widths: tuple[int, ...] = paper_widths,
        mirror_average: bool = False,
        norm: str = "none",
        downsample: str = "stride",
    ) -> None:
        super().__init__()
        self.mirror_average = mirror_average
        if len(widths) != len(self.strides):
            raise ValueError(f"the 9-layer network has {len(self.strides)} hidden widths, got {len(widths)}")
        if downsample not in ("stride", "avgpool"):
            raise ValueError(f"downsample is 'stride' or 'avgpool', not {downsample!r}")
        layer_scale, temperature = _v1_scales(b) if v1_scales else (1.0, None)
        layers, in_channels = [], 6
        for width, stride in zip(widths, self.strides):
            conv_stride = stride if downsample == "stride" else 1
            layers.append(BcosConv2d(in_channels, width, 3, conv_stride, 1, b=b, max_out=max_out, layer_scale=layer_scale))
            if stride > 1 and downsample == "avgpool":
                layers.append(nn.AvgPool2d(stride))
            if norm != "none":
                layers.append(make_norm(norm, width))
            in_channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = BcosConv2d(in_channels, num_classes, 1, b=b, max_out=max_out, layer_scale=layer_scale)
        self.num_classes = num_classes
        self.logit_layer = LogitLayer(temperature, math.log(1 / (num_classes - 1)))

    def forward_features(self, x: Tensor) -> Tensor:
        return self.features(x)


class _ConvPoolBlock(nn.Sequential):
    """conv → (avg-pool) → norm → conv → norm: the block of our fast network (after Keller Jordan's airbench)."""

    def __init__(self, in_channels: int, out_channels: int, b: float, norm: str, pool: bool, max_out: int = 1) -> None:
        super().__init__()
        self.conv1 = BcosConv2d(in_channels, out_channels, 3, padding=1, b=b, max_out=max_out)
        self.pool = nn.AvgPool2d(2) if pool else nn.Identity()
        self.norm1 = make_norm(norm, out_channels)
        self.conv2 = BcosConv2d(out_channels, out_channels, 3, padding=1, b=b, max_out=max_out)
        self.norm2 = make_norm(norm, out_channels)


class BcosFastNet(BcosClassifier):
    """A 7-conv B-cos network sized for CPU training (our own; widths and depth follow airbench94's layout).

    stem (3×3) → three conv–pool–norm–conv–norm blocks (32→16→8→4 pixels) → 1×1 B-cos classifier → mean.
    """

    def __init__(
        self,
        num_classes: int = 10,
        b: float = 2.0,
        widths: tuple[int, int, int, int] = (32, 64, 256, 256),
        norm: str = "bnu",
        max_out: int = 1,
        mirror_average: bool = False,
        logit_temperature: float | None = None,
    ) -> None:
        super().__init__()
        self.mirror_average = mirror_average
        stem, w1, w2, w3 = widths
        self.stem = BcosConv2d(6, stem, 3, padding=1, b=b, max_out=max_out)
        self.stem_norm = make_norm(norm, stem)
        self.block1 = _ConvPoolBlock(stem, w1, b, norm, True, max_out)
        self.block2 = _ConvPoolBlock(w1, w2, b, norm, True, max_out)
        self.block3 = _ConvPoolBlock(w2, w3, b, norm, True, max_out)
        self.classifier = BcosConv2d(w3, num_classes, 1, b=b, max_out=max_out)
        self.num_classes = num_classes
        self.logit_layer = LogitLayer(logit_temperature, -math.log(num_classes - 1))

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem_norm(self.stem(x))
        return self.block3(self.block2(self.block1(x)))


@register_architecture("bcos_vgg9_cifar10", dataset="cifar10", input_size=32)
def bcos_vgg9(
    *,
    b: float = 2.0,
    max_out: int = 2,
    num_classes: int = 10,
    v1_scales: bool = True,
    widths: tuple[int, ...] = BcosVGG9.paper_widths,
    mirror_average: bool = False,
    norm: str = "none",
    downsample: str = "stride",
) -> BcosVGG9:
    """Paper's 9-layer network with MaxOut 2; ``v1_scales`` applies v1's per-layer scales and logit temperature;
    ``widths`` narrows it (the paper's are 64, 64, 128, 128, 128, 256, 256, 256); ``mirror_average`` as the FastNet's;
    ``norm`` and ``downsample`` as :class:`BcosVGG9`'s (the paper's network: "none" and "stride")."""
    return BcosVGG9(num_classes, b, max_out, v1_scales, tuple(widths), mirror_average, norm, downsample)


@register_architecture("bcos_vgg9_nomaxout_cifar10", dataset="cifar10", input_size=32)
def bcos_vgg9_nomaxout(*, b: float = 2.0, num_classes: int = 10, v1_scales: bool = True) -> BcosVGG9:
    """The paper's 9-layer network without MaxOut (half the parameters and FLOPs)."""
    return bcos_vgg9(b=b, max_out=1, num_classes=num_classes, v1_scales=v1_scales)


@register_architecture("bcos_fastnet_cifar10", dataset="cifar10", input_size=32)
def bcos_fastnet(
    *,
    b: float = 2.0,
    num_classes: int = 10,
    widths: tuple[int, int, int, int] = (32, 64, 256, 256),
    norm: str = "bnu",
    max_out: int = 1,
    mirror_average: bool = False,
    logit_temperature: float | None = None,
) -> BcosFastNet:
    """Our CPU-friendly CIFAR network (the shipped default model's architecture; ``max_out`` 2 for the B family,
    since without MaxOut a B = 1 network is linear; ``mirror_average``: logits averaged over the image and its
    mirror image, twice the compute; ``logit_temperature`` T divides the logits: with the last norm's scale frozen
    (``optim.frozen``) a large logit then needs T times the class evidence, which only alignment can give)."""
    return BcosFastNet(num_classes, b, tuple(widths), norm, max_out, mirror_average, logit_temperature)
