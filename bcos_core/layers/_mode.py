"""Explanation mode: makes every dynamic factor of a B-cos network a constant for autograd.

In explanation mode each layer computes the same forward value, but its input-dependent scale
(the B-cos |cos|^(B-1) factor, a norm's standard deviation) is detached. The network then is
y = W(x)·x with W(x) treated as constant, so the input gradient of an output is its row of W(x)
and Σ grad ⊙ x = y exactly (Böhle et al., TPAMI 2024, Sec. 3.3).

The state lives in a ``ContextVar`` holding the ids of the modules being explained, so it is
thread-safe (a model shared by several app sessions can be explained in one thread while it
trains or predicts in another), nestable, affects only the model it was given, and is restored
on exit even when the block raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from torch import nn

_EXPLAINED_MODULE_IDS: ContextVar[frozenset[int]] = ContextVar("bcos_explained_module_ids", default=frozenset())


class DynamicModule(nn.Module):
    """Base for modules with an input-dependent factor that explanation mode detaches."""

    @property
    def detach_dynamics(self) -> bool:
        """Whether this module is inside an active :func:`explanation_mode` block."""
        return id(self) in _EXPLAINED_MODULE_IDS.get()


@contextlib.contextmanager
def explanation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` (and only it) into explanation mode for the duration of the block.

    >>> with explanation_mode(model):
    ...     logit = model(x)[0, c]
    ...     linear_map = torch.autograd.grad(logit, x)[0]   # = W(x)[c]
    """
    ids = frozenset(id(module) for module in model.modules())
    token = _EXPLAINED_MODULE_IDS.set(_EXPLAINED_MODULE_IDS.get() | ids)
    try:
        yield model
    finally:
        _EXPLAINED_MODULE_IDS.reset(token)


def is_in_explanation_mode(module: nn.Module) -> bool:
    """True when ``module`` is inside an active :func:`explanation_mode` block."""
    return id(module) in _EXPLAINED_MODULE_IDS.get()
