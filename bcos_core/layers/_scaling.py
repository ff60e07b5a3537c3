"""The dynamic B-cos scale shared by the conv and linear layers."""

from __future__ import annotations

import functools

import torch
from torch import Tensor


def max_out_reduce(linear: Tensor, max_out: int, dim: int) -> Tensor:
    """MaxOut over groups of ``max_out`` consecutive units along ``dim`` (unit o = rows o·M … o·M+M−1).

    An elementwise maximum of the M pieces rather than an ``amax`` over them: the same values, and the same gradients
    wherever the maximum is unique, but compiled it stays one vectorised pass in the convolution's memory layout, where
    the reduction became a scalar, transposing loop (bench_max_out: a compiled training step of the paper's network at B = 1).
    """
    if max_out == 1:
        return linear
    return functools.reduce(torch.maximum, linear.unflatten(dim, (-1, max_out)).unbind(dim + 1 if dim >= 0 else dim))


class _BcosScaleB2(torch.autograd.Function):
    """Fused y = lin·|lin|/n for B = 2: saves two tensors instead of four and does one pass per direction."""

    @staticmethod
    def forward(ctx, linear: Tensor, norm: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(linear, norm)
        return linear.abs().mul_(linear).div_(norm)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:  # type: ignore[override]
        linear, norm = ctx.saved_tensors
        # g·|lin|/n, reused by both gradients; out of place in g, so that batched gradients (is_grads_batched, vmap),
        # where g carries a batch dimension that |lin|/n lacks, work too
        grad_times_scale = linear.abs().div_(norm) * grad
        grad_norm = None
        if ctx.needs_input_grad[1]:  # d(lin·|lin|/n)/dn = −lin·|lin|/n²
            grad_norm = (grad_times_scale * linear).div_(norm).neg_().sum_to_size(norm.shape)
        grad_linear = grad_times_scale.mul_(2) if ctx.needs_input_grad[0] else None
        return grad_linear, grad_norm


def _power(base: Tensor, exponent: float) -> Tensor:
    """base^exponent (base > 0); half-integer exponents (B = 1.5, 2.5) go through sqrt and products, which compile
    to far cheaper code than the general pow (a compiled training step of the paper's network: bench_fractional_b)."""
    if exponent != int(exponent) and (2 * exponent).is_integer():
        result = base.sqrt()
        for _ in range(int(exponent)):
            result = result * base
        return result
    return base.pow(exponent)


class _BcosScale(torch.autograd.Function):
    """y = s·lin with s = (|lin|/n + ε)^(B−1) for B ∉ {1, 2}: saves lin and n only (plain autograd also keeps the
    cosine, its power and the sum's operands) and recomputes the scale in the backward pass."""

    @staticmethod
    def forward(ctx, linear: Tensor, norm: Tensor, b: float) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(linear, norm)
        ctx.b = b
        return _power((linear / norm).abs() + 1e-6, b - 1) * linear

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:  # type: ignore[override]
        linear, norm = ctx.saved_tensors
        cosine = (linear / norm).abs()
        shifted = cosine + 1e-6
        scale = _power(shifted, ctx.b - 1)
        # with k = (B−1)|c|/(|c|+ε): dy/dlin = s·(1 + k), dy/dn = −s·k·lin/n (no (|c|+ε)^(B−2), finite for B < 2)
        grad_scale, k = grad * scale, (ctx.b - 1) * cosine / shifted
        grad_norm = (grad_scale * k * linear / norm).neg().sum_to_size(norm.shape) if ctx.needs_input_grad[1] else None
        grad_linear = grad_scale * (1 + k) if ctx.needs_input_grad[0] else None
        return grad_linear, grad_norm, None


def bcos_scale(linear: Tensor, norm: Tensor, b: float, detach: bool) -> Tensor:
    """Return |cos|^(B−1)·linear with cos = linear / norm (B-cos v2 epsilons; the scale detached if ``detach``)."""
    if detach:
        if b == 2:
            return linear * (linear.detach().abs() / norm.detach())
        return _power((linear.detach() / norm.detach()).abs() + 1e-6, b - 1) * linear
    if b == 2:
        return _BcosScaleB2.apply(linear, norm)
    return _BcosScale.apply(linear, norm, b)
