"""MaxOut as an elementwise maximum of its pieces equals the ``amax`` reduction it replaced, values and gradients."""

from __future__ import annotations

import pytest
import torch

from bcos_core.layers._scaling import max_out_reduce


@pytest.mark.parametrize("max_out, dim, shape", [(2, 1, (3, 8, 5, 5)), (3, 1, (2, 12, 4, 4)), (2, -1, (4, 10)), (3, -1, (4, 9))])
def test_max_out_equals_the_amax_over_consecutive_pieces(max_out, dim, shape) -> None:
    x = torch.randn(shape, dtype=torch.double, requires_grad=True)
    ours = max_out_reduce(x, max_out, dim)
    reference = x.unflatten(dim, (-1, max_out)).amax(dim=dim + 1 if dim >= 0 else dim)
    assert torch.equal(ours, reference)
    weights = torch.randn_like(ours)
    (grad_ours,) = torch.autograd.grad((ours * weights).sum(), x)
    (grad_reference,) = torch.autograd.grad((reference * weights).sum(), x)
    assert torch.equal(grad_ours, grad_reference)  # each output's gradient reaches its winning piece alone
    assert int((grad_ours != 0).sum()) == ours.numel()


def test_max_out_of_one_piece_is_the_identity_and_ties_keep_the_sum_exact() -> None:
    x = torch.randn(2, 6)
    assert max_out_reduce(x, 1, -1) is x
    tied = torch.tensor([[1.5, 1.5, -2.0, 3.0]], requires_grad=True)
    out = max_out_reduce(tied, 2, -1)
    (grad,) = torch.autograd.grad(out.sum(), tied)
    out, tied = out.detach(), tied.detach()
    assert out.tolist() == [[1.5, 3.0]] and float((grad * tied).sum()) == pytest.approx(float(out.sum()))
