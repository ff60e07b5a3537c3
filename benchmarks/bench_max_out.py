"""Compiled training steps of the paper's network (half width, MaxOut 2, bf16 + compile as training runs it): our
MaxOut (an elementwise maximum of the pieces) vs the ``amax`` reduction over them that it replaced, at B = 1, 1.5
and 2; interleaved in one run (JSON).

    python -m benchmarks.bench_max_out [--threads 2] [--repeats 7] [--steps 5]

Compiled, the reduction became a scalar loop that also transposed the convolution's output, and at B = 1 (nothing
else to fuse it with) that loop took most of the step. Every round runs ``--steps`` optimiser steps of each variant
on the same batch (64 images, the paper's recipe).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from bcos_core.layers import BcosConv2d
from bcos_core.layers._scaling import bcos_scale

from .bench_fractional_b import compare_training_steps

B_VALUES = (1.0, 1.5, 2.0)


class _AmaxMaxOutConv(BcosConv2d):
    """The layer with MaxOut as an ``amax`` over the pieces: how MaxOut was computed before."""

    def forward(self, x: Tensor) -> Tensor:
        linear = F.conv2d(x, self.normalized_weight(), None, self.stride, self.padding, self.dilation, self.groups)
        linear = linear.unflatten(1, (-1, self.max_out)).amax(dim=2)
        output = linear if self.b == 1 else bcos_scale(linear, self.patch_norms(x), self.b, self.detach_dynamics)
        return output if self.layer_scale == 1.0 else output / self.layer_scale


def main() -> None:
    networks = {f"b{b:g}_{kind}": (b, layer) for b in B_VALUES for kind, layer in (("ours", BcosConv2d), ("amax", _AmaxMaxOutConv))}
    ratios = {f"b{b:g}_amax_vs_ours": (f"b{b:g}_amax", f"b{b:g}_ours") for b in B_VALUES}
    compare_training_steps("max_out_training_step", __doc__.split("\n\n")[0], networks, ratios)


if __name__ == "__main__":
    main()
