"""The eager B = 2 B-cos convolution as one autograd node: convolution, patch norm and scale.

Plain autograd records one node per operation of conv → ‖patch‖ → lin·|lin|/‖patch‖, and each node's backward pass
allocates, reads and writes whole activation maps (x² and its power rule, the channel sum's expansion, the scale's
divisions, the two input gradients' sum). Here the backward pass makes one pass per factor instead: the scale's
gradient, the convolution's own backward, and the norm's share added into the input gradient in place. On CPU most
of what remains is the allocation of fresh activation-sized buffers (see "Benchmarks" in the README on the memory
allocator). Under ``torch.compile`` the plain path is used, since Inductor fuses it by itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_PAIR = tuple[int, int]


def squared_patch_sums(x: Tensor, kernel_size: _PAIR, stride: _PAIR, padding: _PAIR, groups: int = 1) -> Tensor:
    """Σ x² over every zero-padded k×k patch and a group's channels, shape (N, groups, H', W') (no dilation).

    Σ_c x² per pixel, then a box sum over the patch: x.square().sum() measured 2–4× faster than a fused vector_norm over
    the channel dimension (a strided reduction) on a 2-core AVX2 machine, forward + backward.
    """
    grouped = x.unflatten(1, (groups, -1)) if groups > 1 else x
    channel_sums = grouped.square().sum(2 if groups > 1 else 1, keepdim=groups == 1)
    return F.avg_pool2d(channel_sums, kernel_size, stride, padding) * (kernel_size[0] * kernel_size[1])


def _linear_and_norm(x: Tensor, weight: Tensor, stride: _PAIR, padding: _PAIR) -> tuple[Tensor, Tensor]:
    """lin = conv(x, ŵ) and the patch norm n = sqrt(Σ_patch x² + 1e-6) (B-cos v2's epsilon), one group, no dilation."""
    linear = F.conv2d(x, weight, None, stride, padding)
    return linear, (squared_patch_sums(x, tuple(weight.shape[2:]), stride, padding) + 1e-6).sqrt()


class FusedBcosConvB2(torch.autograd.Function):
    """y = lin·|lin|/n with lin = conv(x, ŵ) and n = sqrt(Σ_patch x² + 1e-6): B = 2, one group, no dilation or MaxOut.

    The input and weight gradients equal plain autograd's (tests/layers); batched gradients (``is_grads_batched``) work,
    since nothing is written in place into a tensor that the batched gradient does not own. With ``create_graph`` the
    gradients come from plain autograd of the same formula, so that they can be differentiated again.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, stride: _PAIR, padding: _PAIR) -> Tensor:  # type: ignore[override]
        linear, norm = _linear_and_norm(x, weight, stride, padding)
        scale = linear.abs().div_(norm)  # |cos|, kept for the backward pass: two passes fewer there, one map more memory
        ctx.save_for_backward(x, weight, linear, norm, scale)
        ctx.stride, ctx.padding = stride, padding
        return scale * linear

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:  # type: ignore[override]
        x, weight, linear, norm, scale = ctx.saved_tensors
        needs_x, needs_weight = ctx.needs_input_grad[:2]
        if torch.is_grad_enabled():  # create_graph: the saved lin and n are constants here, so differentiate the formula
            return (*_differentiable_gradients(x, weight, grad, ctx.stride, ctx.padding, needs_x, needs_weight), None, None)
        grad_times_scale = scale * grad  # g·|lin|/n; d y/d lin = 2|lin|/n
        grad_sums = None
        if needs_x:  # d y/d n = −lin·|lin|/n², d n/d S = 1/(2n): d L/d S = −Σ_c (g·|lin|/n)·lin / (2n²), on the (N, 1) map
            grad_sums = (grad_times_scale * linear).sum(1, keepdim=True).div_(norm.square()).mul_(-0.5)
        # the convolution's backward is linear in its output gradient: the factor 2 goes on the weight (small) for the
        # input gradient and on the weight gradient afterwards, not over the whole gradient map
        grad_x, grad_weight, _ = torch.ops.aten.convolution_backward(
            grad_times_scale, x, weight * 2, None, ctx.stride, ctx.padding, (1, 1), False, (0, 0), 1, (needs_x, needs_weight, False)
        )
        if grad_weight is not None:
            grad_weight = grad_weight.mul_(2)
        if grad_sums is not None:
            kernel_size = tuple(weight.shape[2:])
            # S = k·avg_pool(Σ_c x²): the pool's backward spreads each patch's gradient back over it, then d(x²) = 2x
            channel_grad = torch.ops.aten.avg_pool2d_backward(
                grad_sums * (kernel_size[0] * kernel_size[1]), x[..., :1, :, :], kernel_size, ctx.stride, ctx.padding, False, True, None
            )
            grad_x = grad_x.addcmul_(x, channel_grad, value=2)
        return grad_x, grad_weight, None, None


def _differentiable_gradients(
    x: Tensor, weight: Tensor, grad: Tensor, stride: _PAIR, padding: _PAIR, needs_x: bool, needs_weight: bool
) -> tuple[Tensor | None, Tensor | None]:
    """The input and weight gradients by autograd of the written-out formula, recording a graph (second derivatives)."""
    with torch.enable_grad():
        linear, norm = _linear_and_norm(x, weight, stride, padding)
        output = linear * linear.abs() / norm
        wanted = [tensor for tensor, needed in ((x, needs_x), (weight, needs_weight)) if needed]
        grads = iter(torch.autograd.grad(output, wanted, grad, create_graph=True))
    return (next(grads) if needs_x else None), (next(grads) if needs_weight else None)
