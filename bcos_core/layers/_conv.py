"""B-cos convolution: |cos(x, ŵ)|^(B-1) · (ŵ·x) per output unit, with optional MaxOut."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._fused_conv import FusedBcosConvB2, squared_patch_sums
from ._mode import DynamicModule
from ._scaling import bcos_scale, max_out_reduce

_PAIR = tuple[int, int]


def _pair(value: int | _PAIR) -> _PAIR:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


class BcosConv2d(DynamicModule):
    """2D B-cos convolution (Böhle et al., CVPR 2022, Eq. 3), numerically equal to ``bcos.modules.BcosConv2d``.

    The raw weight is ``self.weight`` with shape (out·max_out, in/groups, k, k); it is normalised to unit norm
    per output row on every forward. With ``max_out`` M > 1 unit ``o`` is the maximum of rows o·M … o·M+M−1.
    The patch norm ‖x‖ is taken over the zero-padded patch with 1e-6 inside the square root, as in B-cos v2.
    ``layer_scale`` divides the output by a constant (v1's per-layer scale, v2's ``BcosConv2dWithScale``): a network
    without norms needs it to keep activations far above that epsilon.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | _PAIR,
        stride: int | _PAIR = 1,
        padding: int | _PAIR = 0,
        dilation: int | _PAIR = 1,
        groups: int = 1,
        b: float = 2.0,
        max_out: int = 1,
        layer_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must divide groups ({groups})")
        if max_out < 1:
            raise ValueError(f"max_out must be >= 1, got {max_out}")
        if b < 1:
            raise ValueError(f"B must be >= 1, got {b}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        self.groups, self.b, self.max_out = groups, float(b), max_out
        self.layer_scale = float(layer_scale)
        self.weight = nn.Parameter(torch.empty(out_channels * max_out, in_channels // groups, *self.kernel_size))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")

    @property
    def _fuses_eagerly(self) -> bool:
        """Whether the eager forward can be one :class:`FusedBcosConvB2` node (B = 2, one group, no dilation or MaxOut)."""
        return self.b == 2 and self.max_out == 1 and self.groups == 1 and self.dilation == (1, 1)

    @staticmethod
    def _runs_eagerly(x: Tensor) -> bool:
        """Neither traced by ``torch.compile`` (Inductor fuses the plain path itself) nor under autocast (the fused
        node's backward expects the dtypes it saw)."""
        return not torch.compiler.is_compiling() and not torch.is_autocast_enabled(x.device.type)

    def normalized_weight(self) -> Tensor:
        """The unit-norm weight ŵ actually applied (one row per output unit and MaxOut piece)."""
        return self.weight / torch.linalg.vector_norm(self.weight, dim=(1, 2, 3), keepdim=True)

    def forward(self, x: Tensor) -> Tensor:
        if self._fuses_eagerly and not self.detach_dynamics and self._runs_eagerly(x):
            output = FusedBcosConvB2.apply(x, self.normalized_weight(), self.stride, self.padding)
        else:
            linear = F.conv2d(x, self.normalized_weight(), None, self.stride, self.padding, self.dilation, self.groups)
            linear = max_out_reduce(linear, self.max_out, dim=1)
            output = linear if self.b == 1 else bcos_scale(linear, self.patch_norms(x), self.b, self.detach_dynamics)
        return self.emit(output if self.layer_scale == 1.0 else output / self.layer_scale)

    def patch_norms(self, x: Tensor) -> Tensor:
        """‖x‖ of every (zero-padded) input patch, one value per group, broadcastable to the output."""
        if self.dilation == (1, 1):
            sums = squared_patch_sums(x, self.kernel_size, self.stride, self.padding, self.groups)
        else:
            ones = torch.ones(self.groups, self.in_channels // self.groups, *self.kernel_size, dtype=x.dtype, device=x.device)
            sums = F.conv2d(x * x, ones, None, self.stride, self.padding, self.dilation, self.groups)
        norms = (sums + 1e-6).sqrt()
        if self.groups > 1:
            norms = norms.repeat_interleave(self.out_channels // self.groups, dim=1)
        return norms

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, B={self.b:g}, max_out={self.max_out}"
        )
