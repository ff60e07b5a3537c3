"""B-cos Vision Transformers of B-cos v2 (TPAMI 2024): the simple ViT and the ViT-C with a convolutional stem.

Written from the paper's description and equal to ``bcos.models.vit`` (the oracle tests check it): patches (or the
conv stem's map) → B-cos linear embedding → fixed 2-D sin-cos positional embedding **added** → encoders
``x + Attn(LN(x))``, ``x + Linear₂(Linear₁(LN(x)))`` (B-cos linear layers, no activation) → mean over tokens →
``LN → B-cos linear`` → logit bias log(1/(C−1)). ``to_qkv`` is a plain bias-free linear map; in explanation mode
q and k are detached, so the attention matrix is a constant mixing of the tokens and the network stays linear in
its embedded tokens. State-dict keys follow v2's (``read_official_state_dict`` drops its ``0.`` prefix).

The positional embedding is an input-independent additive term: for these models the logit is Σ pixel contributions +
the embedding's own contribution + the logit bias; it is marked with ``constant_term``, so explanations report it.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import Tensor, nn

from ..layers import (
    BcosConv2d,
    BcosLinear,
    DetachableGNLayerNorm2d,
    DetachableLayerNorm,
    DynamicModule,
    LogitLayer,
    OutputEmitter,
    constant_term,
)
from ._architectures import register_architecture
from ._base import BcosClassifier


def sincos_position_embedding(height: int, width: int, dim: int, temperature: float = 10_000.0) -> Tensor:
    """(height·width, dim) fixed 2-D sin-cos embedding of a token grid, row-major (as in the simple ViT)."""
    if dim % 4:
        raise ValueError(f"the embedding width must be a multiple of 4 for a 2-D sin-cos embedding, got {dim}")
    y, x = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    omega = 1.0 / temperature ** (torch.arange(dim // 4) / (dim // 4 - 1))
    y, x = y.flatten()[:, None] * omega[None, :], x.flatten()[:, None] * omega[None, :]
    return torch.cat((x.sin(), x.cos(), y.sin(), y.cos()), dim=1)


class Attention(DynamicModule):
    """Multi-head self-attention with a B-cos output map; q and k are detached in explanation mode."""

    channel_dim = -1

    def __init__(self, dim: int, heads: int, dim_head: int, b: float) -> None:
        super().__init__()
        self.heads, self.scale = heads, dim_head**-0.5
        self.norm = DetachableLayerNorm(dim)
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = BcosLinear(heads * dim_head, dim, b=b)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in self.to_qkv(self.norm(x)).chunk(3, dim=-1))
        if self.detach_dynamics:  # the attention pattern becomes a constant mixing matrix
            q, k = q.detach(), k.detach()
        attention = (q @ k.transpose(-1, -2) * self.scale).softmax(dim=-1)
        return self.to_out((attention @ v).transpose(1, 2).flatten(2))


class FeedForward(nn.Module):
    """LN → B-cos linear → B-cos linear (the B-cos layers' own non-linearity replaces the activation)."""

    def __init__(self, dim: int, hidden: int, b: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            OrderedDict(
                norm=DetachableLayerNorm(dim), linear1=BcosLinear(dim, hidden, b=b), act=nn.Identity(), linear2=BcosLinear(hidden, dim, b=b)
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class Encoder(OutputEmitter):
    """x + Attn(x), then + FF(x): two residual additions, so the encoder's output (N, tokens, dim) is a cut, its parts are not."""

    channel_dim = -1
    has_skip_connection = True

    def __init__(self, dim: int, heads: int, mlp_dim: int, b: float) -> None:
        super().__init__()
        self.attn = Attention(dim, heads, dim // heads, b)
        self.ff = FeedForward(dim, mlp_dim, b)

    def forward(self, x: Tensor) -> Tensor:
        x = self.attn(x) + x
        return self.emit(self.ff(x) + x)


class PatchEmbedding(nn.Module):
    """(Conv stem →) non-overlapping patches, each flattened as (row, column, channel) → B-cos linear: (N, h, w, dim)."""

    def __init__(self, channels: int, patch: int, dim: int, conv_stem: list[int] | None, b: float) -> None:
        super().__init__()
        self.patch = patch
        if conv_stem:
            layers: list[nn.Module] = []
            for width in conv_stem:  # stride 2 where the width grows (Xiao et al., "Early convolutions help")
                layers += [
                    BcosConv2d(channels, width, 3, 2 if width > channels else 1, 1, b=b),
                    DetachableGNLayerNorm2d(width),
                    nn.Identity(),
                ]
                channels = width
            self.conv_stem = nn.Sequential(*layers)
        else:
            self.conv_stem = None
        self.linear = BcosLinear(channels * patch * patch, dim, b=b)

    def forward(self, x: Tensor) -> Tensor:
        if self.conv_stem is not None:
            x = self.conv_stem(x)
        n, c, height, width = x.shape
        p = self.patch
        patches = x.reshape(n, c, height // p, p, width // p, p).permute(0, 2, 4, 3, 5, 1).reshape(n, height // p, width // p, p * p * c)
        return self.linear(patches)


class BcosViT(BcosClassifier):
    """B-cos simple ViT / ViT-C on 6-channel encoded images; tokens are mean-pooled (no class token)."""

    def __init__(
        self,
        *,
        image_size: int,
        patch_size: int,
        dim: int,
        depth: int,
        heads: int,
        mlp_dim: int,
        num_classes: int,
        conv_stem: list[int] | None = None,
        b: float = 2.0,
    ) -> None:
        super().__init__()
        stem_stride = 2 ** sum(1 for previous, width in zip([6, *conv_stem], conv_stem) if width > previous) if conv_stem else 1
        if (image_size // stem_stride) % patch_size:
            raise ValueError(f"image size {image_size} does not split into {patch_size}-pixel patches")
        self.image_size = image_size
        self.to_patch_embedding = PatchEmbedding(6, patch_size, dim, conv_stem, b)
        self.transformer = nn.Sequential(OrderedDict((f"encoder_{i}", Encoder(dim, heads, mlp_dim, b)) for i in range(depth)))
        self.linear_head = nn.Sequential(OrderedDict(norm=DetachableLayerNorm(dim), linear=BcosLinear(dim, num_classes, b=b)))
        self.num_classes = num_classes
        self.logit_layer = LogitLayer(None, math.log(1 / (num_classes - 1)))

    @property
    def classifier(self) -> nn.Module:  # type: ignore[override]
        """The head (norm and B-cos linear layer) applied to the mean token."""
        return self.linear_head

    def forward_features(self, x: Tensor) -> Tensor:
        """(N, tokens, dim) the encoded tokens, positional embedding included."""
        tokens = self.to_patch_embedding(x)
        _, height, width, dim = tokens.shape
        embedding = sincos_position_embedding(height, width, dim).to(tokens.dtype).expand(len(tokens), -1, -1)
        return self.transformer(tokens.flatten(1, 2) + constant_term("positional embedding", embedding))

    def forward_head(self, features: Tensor) -> Tensor:
        return self.logit_layer(self.linear_head(features.mean(dim=1)))


_SIZES = {  # (dim, depth, heads, mlp_dim, conv stem): v2's ti/s/b/l
    "simple_vit_ti": (192, 12, 3, 768, None),
    "simple_vit_s": (384, 12, 6, 1536, None),
    "simple_vit_b": (768, 12, 12, 3072, None),
    "simple_vit_l": (1024, 14, 16, 4096, None),
    "vitc_ti": (192, 11, 3, 768, [24, 48, 96, 192]),
    "vitc_s": (384, 11, 6, 1536, [48, 96, 192, 384]),
    "vitc_b": (768, 11, 12, 3072, [64, 128, 128, 256, 256, 512]),
    "vitc_l": (1024, 13, 16, 4096, [64, 128, 128, 256, 256, 512]),
}


def _register(size: str) -> None:
    dim, depth, heads, mlp_dim, stem = _SIZES[size]
    patch, grid = (1, 14) if stem else (16, 224)
    name = f"bcos_{size}_patch{patch}_{grid}"

    @register_architecture(name, dataset="imagenet", input_size=224)
    def build(*, b: float = 2.0, num_classes: int = 1000) -> BcosViT:
        return BcosViT(
            image_size=224,
            patch_size=patch,
            dim=dim,
            depth=depth,
            heads=heads,
            mlp_dim=mlp_dim,
            num_classes=num_classes,
            conv_stem=stem,
            b=b,
        )

    build.__doc__ = f"B-cos {size.replace('_', ' ')} of B-cos v2 (``bcos.pretrained.{size}_patch{patch}_{grid}``), ImageNet, 224 px."


for _size in _SIZES:
    _register(_size)


@register_architecture("bcos_vitc_cifar10", dataset="cifar10", input_size=32)
def bcos_vitc_cifar10(
    *,
    b: float = 2.0,
    num_classes: int = 10,
    dim: int = 192,
    depth: int = 6,
    heads: int = 3,
    mlp_dim: int = 384,
    conv_stem: tuple[int, ...] = (48, 96, 96),
) -> BcosViT:
    """A small B-cos ViT-C for 32 px images (ours): the conv stem halves the image twice (32 → 8), so each of the
    8 × 8 tokens sees a 4 × 4-pixel patch; ViT-Ti's width and heads, 6 encoders, MLP ratio 2."""
    return BcosViT(
        image_size=32,
        patch_size=1,
        dim=dim,
        depth=depth,
        heads=heads,
        mlp_dim=mlp_dim,
        num_classes=num_classes,
        conv_stem=list(conv_stem),
        b=b,
    )
