"""Bias-free norms equal the oracle's, in training, evaluation and explanation mode."""

from __future__ import annotations

import pytest
import torch

from bcos_core.layers import BatchNormUncentered2d, DetachablePositionNorm2d, explanation_mode
from tests.conftest import relative_error

bcos = pytest.importorskip("bcos", reason="the official bcos package is the test oracle")
norms = bcos.modules.norms


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_uncentered(training: bool) -> None:
    ours, ref = BatchNormUncentered2d(5), norms.NoBias(norms.BatchNormUncentered2d)(5)
    ours.weight.data.uniform_(0.5, 2)
    ref.weight.data.copy_(ours.weight.data)
    x = torch.randn(4, 5, 6, 6) * 3 + 1
    for _ in range(3):  # running statistics evolve identically
        ours.train(), ref.train()
        assert relative_error(ours(x), ref(x)) <= 1e-5
    assert relative_error(ours.running_var, ref.running_var) <= 1e-6
    ours.train(training), ref.train(training)
    x = x.requires_grad_(True)
    with explanation_mode(ours), bcos.explanation_mode(ref):
        g_ours = torch.autograd.grad(ours(x)[1, 2, 3, 3], x)[0]
        g_ref = torch.autograd.grad(ref(x)[1, 2, 3, 3], x)[0]
    assert relative_error(g_ours, g_ref) <= 1e-5


def test_position_norm() -> None:
    ours, ref = DetachablePositionNorm2d(5), norms.NoBias(norms.DetachablePositionNorm2d)(5)
    ours.weight.data.uniform_(0.5, 2)
    ref.weight.data.copy_(ours.weight.data)
    x = torch.randn(2, 5, 4, 4, requires_grad=True)
    assert relative_error(ours(x), ref(x)) <= 1e-5
    with explanation_mode(ours), bcos.explanation_mode(ref):
        g_ours = torch.autograd.grad(ours(x)[0, 1, 2, 2], x)[0]
        g_ref = torch.autograd.grad(ref(x)[0, 1, 2, 2], x)[0]
    assert relative_error(g_ours, g_ref) <= 1e-5
