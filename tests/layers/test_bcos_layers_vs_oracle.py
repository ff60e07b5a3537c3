"""Our B-cos layers equal the official ``bcos`` package (numerical oracle) and the formula itself."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from bcos_core.layers import BcosConv2d, BcosLinear, explanation_mode
from tests.conftest import relative_error

bcos = pytest.importorskip("bcos", reason="the official bcos package is the test oracle (pip install bcos==0.1.3)")

B_VALUES = [1.0, 1.25, 1.5, 2.0, 2.5, 3.0]


def _formula_conv(x: torch.Tensor, layer: BcosConv2d, detach: bool) -> torch.Tensor:
    """B-cos conv written out with explicit patches (unfold), for cases the oracle cannot run."""
    out_units, m, g = layer.out_channels, layer.max_out, layer.groups
    k = layer.kernel_size
    patches = F.unfold(x, k, layer.dilation, layer.padding, layer.stride)  # (N, C·k·k, L)
    n, _, length = patches.shape
    patches = patches.view(n, g, -1, length)  # per group
    w = layer.weight.view(g, out_units * m // g, -1)
    w = w / w.norm(dim=2, keepdim=True)
    linear = torch.einsum("gof,ngfl->ngol", w, patches).reshape(n, out_units * m, length)
    norms = (patches.pow(2).sum(2) + 1e-6).sqrt().repeat_interleave(out_units * m // g, dim=1)  # (N, O·M, L)
    linear = linear.view(n, out_units, m, length)
    best = linear.argmax(2, keepdim=True)
    linear = linear.gather(2, best).squeeze(2)
    norms = norms.view(n, out_units, m, length).gather(2, best).squeeze(2)
    if layer.b != 1:
        cos = (linear.detach() / norms.detach()) if detach else linear / norms
        linear = ((cos.abs() + 1e-6).pow(layer.b - 1) if layer.b != 2 else cos.abs()) * linear
    h = (x.shape[2] + 2 * layer.padding[0] - layer.dilation[0] * (k[0] - 1) - 1) // layer.stride[0] + 1
    return linear.view(n, out_units, h, -1)


def _compare(ours: torch.nn.Module, reference, x: torch.Tensor, reference_mode) -> None:
    x = x.clone().requires_grad_(True)
    assert relative_error(ours(x), reference(x)) <= 1e-5
    with explanation_mode(ours):
        y = ours(x)
        index = (0,) + tuple(s // 2 for s in y.shape[1:])
        grad_ours = torch.autograd.grad(y[index], x)[0]
    with reference_mode:
        y_ref = reference(x)
        grad_ref = torch.autograd.grad(y_ref[index], x)[0]
    assert relative_error(grad_ours, grad_ref) <= 1e-5
    # the explanation is exact: Σ ∇y ⊙ x = y
    assert float((grad_ours * x).sum()) == pytest.approx(float(y[index]), rel=1e-4, abs=1e-6)


CONV_GRID = list(
    itertools.product(B_VALUES, [1, 2], [1, 2], [0, 1], [1, 2], [1, 2], [1, 3])
)  # b, max_out, stride, padding, dilation, groups, batch


@pytest.mark.parametrize("b, max_out, stride, padding, dilation, groups, batch", CONV_GRID)
def test_conv_matches_oracle_or_formula(b, max_out, stride, padding, dilation, groups, batch) -> None:
    ours = BcosConv2d(4, 6, 3, stride, padding, dilation, groups, b=b, max_out=max_out)
    x = torch.randn(batch, 4, 9, 9)
    reference_fails = (groups > 1 and max_out > 1) or (dilation > 1 and (groups > 1 or max_out > 1))
    if reference_fails:
        # the oracle crashes or mis-shapes here: compare with the formula (output and explanation gradient)
        x.requires_grad_(True)
        assert relative_error(ours(x), _formula_conv(x, ours, detach=False)) <= 1e-5
        with explanation_mode(ours):
            grad_ours = torch.autograd.grad(ours(x)[0, 1, 1, 1], x)[0]
        grad_formula = torch.autograd.grad(_formula_conv(x, ours, detach=True)[0, 1, 1, 1], x)[0]
        assert relative_error(grad_ours, grad_formula) <= 1e-5
        return
    reference = bcos.modules.BcosConv2d(4, 6, 3, stride, padding, dilation, groups, b=b, max_out=max_out)
    reference.linear.weight.data.copy_(ours.weight.data)
    _compare(ours, reference, x, bcos.explanation_mode(reference))


@pytest.mark.parametrize("b, max_out, batch", list(itertools.product(B_VALUES, [1, 2], [1, 4])))
def test_linear_matches_oracle(b, max_out, batch) -> None:
    ours = BcosLinear(12, 5, b=b, max_out=max_out)
    reference = bcos.modules.BcosLinear(12, 5, b=b, max_out=max_out)
    reference.linear.weight.data.copy_(ours.weight.data)
    _compare(ours, reference, torch.randn(batch, 12), bcos.explanation_mode(reference))


def test_formula_reference_agrees_with_oracle_where_both_run() -> None:
    """Guards the formula used above: on a case the oracle supports, formula and oracle agree."""
    ours = BcosConv2d(4, 6, 3, 2, 1, b=2.5, max_out=2)
    x = torch.randn(2, 4, 9, 9)
    reference = bcos.modules.BcosConv2d(4, 6, 3, 2, 1, b=2.5, max_out=2)
    reference.linear.weight.data.copy_(ours.weight.data)
    assert relative_error(_formula_conv(x, ours, detach=False), reference(x)) <= 1e-5


def test_b2_fast_path_gradient_equals_generic_autograd() -> None:
    """The fused B = 2 autograd function gives the same parameter and input gradients as plain autograd."""
    layer = BcosConv2d(5, 7, 3, padding=1, b=2.0, max_out=2)
    x = torch.randn(3, 5, 8, 8, requires_grad=True)
    (layer(x) ** 2).sum().backward()
    fast_w, fast_x = layer.weight.grad.clone(), x.grad.clone()
    layer.weight.grad, x.grad = None, None
    (_formula_conv(x, layer, detach=False) ** 2).sum().backward()
    assert relative_error(fast_w, layer.weight.grad) <= 1e-5
    assert relative_error(fast_x, x.grad) <= 1e-5


@pytest.mark.parametrize("b", [1.25, 1.5, 2.5, 3.0])
def test_general_b_scale_gradient_equals_generic_autograd(b) -> None:
    """The B ∉ {1, 2} autograd function (scale recomputed in the backward, sqrt for half-integer B) gives plain
    autograd's gradients, also batched (``is_grads_batched``, as the explanation rows use) and twice differentiated."""
    layer = BcosConv2d(5, 7, 3, padding=1, b=b, max_out=2)
    x = torch.randn(3, 5, 8, 8, requires_grad=True)
    y = layer(x)
    assert type(y.grad_fn).__name__ == "_BcosScaleBackward"
    assert relative_error(y, _formula_conv(x, layer, detach=False)) <= 1e-6
    (y**2).sum().backward()
    fast_w, fast_x = layer.weight.grad.clone(), x.grad.clone()
    layer.weight.grad, x.grad = None, None
    (_formula_conv(x, layer, detach=False) ** 2).sum().backward()
    assert relative_error(fast_w, layer.weight.grad) <= 1e-5
    assert relative_error(fast_x, x.grad) <= 1e-5
    picks = torch.zeros(4, *y.shape)
    picks.view(4, -1)[torch.arange(4), torch.tensor([0, 17, 200, 301])] = 1.0
    batched = torch.autograd.grad(layer(x), x, picks, is_grads_batched=True)[0]
    one_by_one = torch.stack([torch.autograd.grad(layer(x), x, pick)[0] for pick in picks])
    assert relative_error(batched, one_by_one) <= 1e-6
    small = BcosConv2d(2, 3, 3, padding=1, b=b).double()
    x64 = torch.randn(2, 2, 4, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(small, (x64,), fast_mode=True)
    assert torch.autograd.gradgradcheck(small, (x64,), fast_mode=True)


@pytest.mark.parametrize("b", [1.0, 2.0, 2.5])
def test_layer_scale_matches_oracle_with_scale(b) -> None:
    """v1's per-layer scale: our ``layer_scale`` equals ``bcos.modules.BcosConv2dWithScale`` (outputs and explanations)."""
    scale = 10 ** (-2 + 1.5 * (2.5 - b))
    ours = BcosConv2d(4, 6, 3, 1, 1, b=b, max_out=2, layer_scale=scale)
    with pytest.warns(DeprecationWarning):
        reference = bcos.modules.BcosConv2dWithScale(4, 6, 3, 1, 1, b=b, max_out=2, scale=scale)
    reference.linear.weight.data.copy_(ours.weight.data)
    _compare(ours, reference, torch.randn(2, 4, 7, 7), bcos.explanation_mode(reference))


class _PlainPathConv(BcosConv2d):
    """The layer without the eager fused node: plain autograd of the same formula."""

    _fuses_eagerly = False


@pytest.mark.parametrize("stride, padding, kernel_size", [(1, 1, 3), (2, 1, 3), (2, 0, 3), (1, 0, 1), (2, 0, 1)])
def test_eager_fused_b2_node_equals_plain_autograd(stride, padding, kernel_size) -> None:
    """The fused B = 2 node (conv, patch norm and scale in one backward) gives the plain path's output, input and
    weight gradients, and its own derivatives pass gradcheck and gradgradcheck (second derivatives via create_graph)."""
    fused = BcosConv2d(5, 7, kernel_size, stride, padding, b=2.0)
    plain = _PlainPathConv(5, 7, kernel_size, stride, padding, b=2.0)
    plain.weight.data.copy_(fused.weight.data)
    x = torch.randn(3, 5, 9, 9, requires_grad=True)
    outputs, grads = [], []
    for layer in (fused, plain):
        y = layer(x)
        outputs.append(y)
        grads.append(torch.autograd.grad((y**2).sum(), (x, layer.weight)))
    assert type(outputs[0].grad_fn).__name__ == "FusedBcosConvB2Backward" and type(outputs[1].grad_fn).__name__ != "FusedBcosConvB2Backward"
    assert relative_error(outputs[0], outputs[1]) <= 1e-6
    for fast, reference in zip(*grads, strict=True):
        assert relative_error(fast, reference) <= 1e-5
    small = BcosConv2d(2, 3, kernel_size, stride, padding, b=2.0).double()
    x64 = torch.randn(2, 2, 4, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(small, (x64,), fast_mode=True)
    assert torch.autograd.gradgradcheck(small, (x64,), fast_mode=True)
    # with create_graph the gradient comes from another branch of the backward pass: the same values
    once = torch.autograd.grad((small(x64) ** 2).sum(), x64)[0]
    recorded = torch.autograd.grad((small(x64) ** 2).sum(), x64, create_graph=True)[0]
    assert recorded.grad_fn is not None and relative_error(recorded, once) <= 1e-12


def test_fused_node_is_not_used_where_it_does_not_apply() -> None:
    """Explanation mode, MaxOut, groups and autocast take the plain path (their own tests check its values)."""
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    layer = BcosConv2d(4, 6, 3, padding=1, b=2.0)
    with explanation_mode(layer):
        assert type(layer(x).grad_fn).__name__ != "FusedBcosConvB2Backward"
    for other in (BcosConv2d(4, 6, 3, padding=1, max_out=2), BcosConv2d(4, 6, 3, padding=1, groups=2), BcosConv2d(4, 6, 3, b=2.5)):
        assert type(other(x).grad_fn).__name__ != "FusedBcosConvB2Backward"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert type(layer(x).grad_fn).__name__ != "FusedBcosConvB2Backward"
