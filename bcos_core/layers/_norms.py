"""Bias-free normalisation layers whose standard deviation is detached in explanation mode.

Any additive term would break f(x) = W(x)·x, so none of these has a bias; centring (mean
subtraction) is linear and therefore allowed.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._mode import DynamicModule


class BatchNormUncentered2d(DynamicModule):
    """x / sqrt(var + eps) · γ per channel, without mean subtraction or bias (B-cos v2 "bnu-linear").

    Training uses the (biased) batch variance and keeps its running average; eval uses the running
    variance, a fixed per-channel scaling. State-dict keys match ``nn.BatchNorm2d`` without ``bias``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.register_buffer("running_mean", torch.zeros(num_features))  # kept for checkpoint compatibility; unused
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: Tensor) -> Tensor:
        if self.uses_batch_statistics:
            var = (x.detach() if self.detach_dynamics else x).var(dim=(0, 2, 3), unbiased=False)
            with torch.no_grad():
                self.running_var.lerp_(var.detach().to(self.running_var.dtype), self.momentum)
                self.num_batches_tracked.add_(1)
        else:
            var = self.running_var
        scale = (var + self.eps).rsqrt()
        if self.weight is not None:
            scale = scale * self.weight
        return self.emit(x * scale.to(x.dtype)[None, :, None, None])

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class _DetachedStdNorm(DynamicModule):
    """Centre over ``dims``, divide by the (detachable) standard deviation, multiply by γ; no bias."""

    dims: tuple[int, ...]

    def __init__(self, num_features: int, eps: float, affine: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps = num_features, eps
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None

    def _normalise(self, x: Tensor, weight_shape: tuple[int, ...]) -> Tensor:
        var, mean = torch.var_mean(x, dim=self.dims, unbiased=False, keepdim=True)
        if self.detach_dynamics:
            var = var.detach()
        x = (x - mean) / (var + self.eps).sqrt()
        return self.emit(x if self.weight is None else x * self.weight.view(weight_shape))


class DetachableLayerNorm(_DetachedStdNorm):
    """LayerNorm over the last dimension with a detachable std and no bias (B-cos ViTs)."""

    dims = (-1,)
    channel_dim = -1

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__(num_features, eps, affine)

    def forward(self, x: Tensor) -> Tensor:
        return self._normalise(x, (self.num_features,))


class DetachablePositionNorm2d(_DetachedStdNorm):
    """LayerNorm over channels at every pixel of an (N, C, H, W) map, detachable std, no bias."""

    dims = (1,)

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__(num_features, eps, affine)

    def forward(self, x: Tensor) -> Tensor:
        return self._normalise(x, (1, self.num_features, 1, 1))


class DetachableGNLayerNorm2d(_DetachedStdNorm):
    """LayerNorm over (channels, height, width) of each image of an (N, C, H, W) map (GroupNorm with one group),
    detachable std, per-channel γ, no bias: the norm of the B-cos ViT-C convolutional stem."""

    dims = (1, 2, 3)

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__(num_features, eps, affine)

    def forward(self, x: Tensor) -> Tensor:
        return self._normalise(x, (1, self.num_features, 1, 1))
