"""B-cos linear layer."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._mode import DynamicModule
from ._scaling import bcos_scale, max_out_reduce


class BcosLinear(DynamicModule):
    """B-cos linear layer, numerically equal to ``bcos.modules.BcosLinear`` (norm ‖x‖ + 1e-12, outside the norm).

    The raw weight is ``self.weight`` with shape (out·max_out, in); unit ``o`` uses rows o·M … o·M+M−1.
    """

    channel_dim = -1

    def __init__(self, in_features: int, out_features: int, b: float = 2.0, max_out: int = 1) -> None:
        super().__init__()
        if max_out < 1:
            raise ValueError(f"max_out must be >= 1, got {max_out}")
        if b < 1:
            raise ValueError(f"B must be >= 1, got {b}")
        self.in_features, self.out_features = in_features, out_features
        self.b, self.max_out = float(b), max_out
        self.weight = nn.Parameter(torch.empty(out_features * max_out, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x: Tensor) -> Tensor:
        weight = self.weight / torch.linalg.vector_norm(self.weight, dim=1, keepdim=True)
        linear = max_out_reduce(F.linear(x, weight), self.max_out, dim=-1)
        if self.b == 1:
            return self.emit(linear)
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True) + 1e-12
        return self.emit(bcos_scale(linear, norm, self.b, self.detach_dynamics))

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, B={self.b:g}, max_out={self.max_out}"
