"""Explanation mode: exact linear maps, restored state, isolation between models and threads."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from bcos_core.layers import BatchNormUncentered2d, BcosConv2d, explanation_mode, is_in_explanation_mode


def _net() -> nn.Sequential:
    return nn.Sequential(BcosConv2d(6, 8, 3, padding=1), BatchNormUncentered2d(8), BcosConv2d(8, 4, 3, padding=1)).eval()


def test_gradient_is_exact_linear_map_only_in_explanation_mode() -> None:
    net, x = _net(), torch.rand(1, 6, 8, 8, requires_grad=True)
    with explanation_mode(net):
        y = net(x)[0, 1, 3, 3]
        grad = torch.autograd.grad(y, x)[0]
    assert float((grad * x).sum()) == pytest.approx(float(y), rel=1e-5)
    y = net(x)[0, 1, 3, 3]
    plain = torch.autograd.grad(y, x)[0]
    # without detaching, the gradient also differentiates the dynamic scale: it is not the row of W(x)
    assert not torch.allclose(plain, grad, rtol=1e-3, atol=1e-6)


def test_forward_is_unchanged_by_explanation_mode() -> None:
    net, x = _net(), torch.rand(2, 6, 8, 8)
    with explanation_mode(net):
        inside = net(x)
    torch.testing.assert_close(inside, net(x), rtol=1e-6, atol=1e-7)


def test_restored_after_exception_and_nesting() -> None:
    net = _net()
    conv = net[0]
    with pytest.raises(RuntimeError, match="boom"):
        with explanation_mode(net):
            assert is_in_explanation_mode(conv)
            raise RuntimeError("boom")
    assert not is_in_explanation_mode(conv)
    with explanation_mode(net):
        with explanation_mode(net):
            pass
        assert is_in_explanation_mode(conv), "leaving an inner block must not end the outer one"
    assert not is_in_explanation_mode(conv)


def test_affects_only_the_given_model_and_thread() -> None:
    first, second = _net(), _net()
    seen_in_thread: list[bool] = []
    with explanation_mode(first):
        assert is_in_explanation_mode(first[0]) and not is_in_explanation_mode(second[0])
        worker = threading.Thread(target=lambda: seen_in_thread.append(is_in_explanation_mode(first[0])))
        worker.start()
        worker.join()
    assert seen_in_thread == [False]


def test_module_added_after_construction_is_included() -> None:
    net = _net()
    net.append(BcosConv2d(4, 2, 1))
    with explanation_mode(net):
        assert is_in_explanation_mode(net[-1])
