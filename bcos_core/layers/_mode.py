"""Per-call state of B-cos modules: explanation mode, running statistics, and captured layer outputs.

Explanation mode makes every dynamic factor of a B-cos network a constant for autograd.

In explanation mode each layer computes the same forward value, but its input-dependent scale
(the B-cos |cos|^(B-1) factor, a norm's standard deviation) is detached. The network then is
y = W(x)·x with W(x) treated as constant, so the input gradient of an output is its row of W(x)
and Σ grad ⊙ x = y exactly (Böhle et al., TPAMI 2024, Sec. 3.3).

The state lives in a ``ContextVar`` holding the ids of the modules being explained, so it is
thread-safe (a model shared by several app sessions can be explained in one thread while it
trains or predicts in another), nestable, affects only the model it was given, and is restored
on exit even when the block raises. The other states work the same way, so that no library call changes a
model that other threads share: :func:`running_statistics` makes norms use their running statistics for one call
whatever ``model.training`` says, :func:`forward_to` returns the outputs of named layers, ending the forward
pass after the last of them, without hooks (:func:`forward_through` runs the whole pass and keeps them in the
graph), and :func:`tracking_constant_terms` collects a model's input-independent
additive terms (marked with :func:`constant_term`) as autograd leaves for one call.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

_EXPLAINED_MODULE_IDS: ContextVar[frozenset[int]] = ContextVar("bcos_explained_module_ids", default=frozenset())
_FROZEN_MODULE_IDS: ContextVar[frozenset[int]] = ContextVar("bcos_frozen_module_ids", default=frozenset())


@dataclass
class _Capture:
    """Which modules' outputs this context wants (module id → layer name), what it got so far (in the order the layers
    ran), how to reduce each, and whether the pass ends once it has them all."""

    names: dict[int, str]
    reduce: Callable[[Tensor], Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    stop: bool = True
    channels_first: bool = False


class _StopForward(Exception):
    """Ends a forward pass once every requested layer has run (the rest of the network is not needed)."""


_CAPTURE: ContextVar[_Capture | None] = ContextVar("bcos_capture", default=None)
_CONSTANT_TERMS: ContextVar[dict[str, Tensor] | None] = ContextVar("bcos_constant_terms", default=None)


class OutputEmitter(nn.Module):
    """Base for modules whose output a :func:`forward_to` or :func:`forward_through` request can read.

    ``channel_dim`` says where the output's channels are (1 for convolutional maps, -1 for tokens and vectors);
    ``has_skip_connection`` marks a block with a path around its children (a residual or dense block): the block's
    output separates the network's input from its output, its children's outputs do not.
    """

    channel_dim: int = 1
    has_skip_connection: bool = False

    def emit(self, output: Tensor) -> Tensor:
        """Return ``output``, handing it to an active request that asked for this module."""
        capture = _CAPTURE.get()
        if capture is not None and id(self) in capture.names:
            captured = channel_maps(output, self.channel_dim) if capture.channels_first else output
            capture.outputs[capture.names[id(self)]] = captured if capture.reduce is None else capture.reduce(captured)
            if capture.stop and len(capture.outputs) == len(capture.names):
                raise _StopForward
        return output


def channel_maps(output: Tensor, channel_dim: int) -> Tensor:
    """A layer output as (N, C, *grid): channels first, a ViT's (N, tokens, C) as its square grid of tokens (the B-cos
    ViTs have no class token) and a vector (N, C) as 1×1 maps, so every layer shows its neurons the same way."""
    if output.dim() == 2:
        return output[:, :, None, None]
    if output.dim() < 2 or channel_dim in (1, 1 - output.dim()):
        return output
    moved = output.movedim(channel_dim, 1)
    side = math.isqrt(moved.shape[2]) if moved.dim() == 3 else 0
    return moved.unflatten(2, (side, side)) if moved.dim() == 3 and side * side == moved.shape[2] else moved


def reads_layers_only() -> bool:
    """True inside a :func:`forward_to` request: the pass ends at a layer and no model output is computed, so a model
    may leave out work that only its output needs (a mirror-averaging classifier's mirror pass: the layers read are
    those of the images' own pass)."""
    capture = _CAPTURE.get()
    return capture is not None and capture.stop


def fold_mirror_pass(maps: Tensor, images: int) -> Tensor:
    """(images, C, *grid) maps of a quantity that adds up over passes (contributions), from a forward pass over
    ``images`` images. A mirror-averaging model's whole pass (:func:`forward_through`, Captum's hooks) has 2·images
    rows, the images' own pass and then their mirror images'; each image's mirror rows are mirrored back onto its grid
    and added, so sums over channels and positions stay exact. Maps with one row per image come back unchanged."""
    if len(maps) == images:
        return maps
    if len(maps) != 2 * images:
        raise ValueError(f"{len(maps)} rows for {images} images: neither one pass nor an image and its mirror image")
    own, mirrored = maps.chunk(2)
    return own + mirrored.flip(-1)


def passes_side_by_side(rows: Tensor, images: int) -> Tensor:
    """(images, 2·C, …) from a mirror-averaging model's (2·images, C, …) rows: each image's two passes as one vector
    (for a cosine over everything its logit depends on). Rows with one per image come back unchanged."""
    return rows if len(rows) == images else torch.cat(rows.chunk(2), dim=1)


class DynamicModule(OutputEmitter):
    """Base for modules with an input-dependent factor that explanation mode detaches."""

    @property
    def detach_dynamics(self) -> bool:
        """Whether this module is inside an active :func:`explanation_mode` block."""
        return id(self) in _EXPLAINED_MODULE_IDS.get()

    @property
    def uses_batch_statistics(self) -> bool:
        """Whether a norm should use batch statistics: in training mode, unless :func:`running_statistics` is active."""
        return self.training and id(self) not in _FROZEN_MODULE_IDS.get()


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


_TRAINING_DEPENDENT = (nn.modules.batchnorm._NormBase, nn.modules.dropout._DropoutNd)


@contextlib.contextmanager
def running_statistics(model: nn.Module) -> Iterator[nn.Module]:
    """Evaluate ``model`` with running statistics in this block, without changing it (other threads are unaffected).

    B-cos norms follow this per-call state; a model holding other training-dependent modules (torch's BatchNorm,
    Dropout) in training mode is refused, since only ``model.eval()``, a change every thread would see, could help.
    """
    training = [name for name, module in model.named_modules() if module.training and isinstance(module, _TRAINING_DEPENDENT)]
    if training:
        raise ValueError(
            f"{training[0]!r} ({len(training)} modules in all) is in training mode: call model.eval() before evaluating or explaining"
        )
    token = _FROZEN_MODULE_IDS.set(_FROZEN_MODULE_IDS.get() | frozenset(id(module) for module in model.modules()))
    try:
        yield model
    finally:
        _FROZEN_MODULE_IDS.reset(token)


def forward_to(
    model: nn.Module, x: Tensor, layers: Sequence[str], reduce: Callable[[Tensor], Any] | None = None, *, channels_first: bool = False
) -> dict[str, Any]:
    """Run ``model`` on ``x`` and return the outputs of the named layers; the pass ends after the last of them.

    Any B-cos layer, norm or block that emits its output (an :class:`OutputEmitter`) can be asked for; the outputs come
    in the order the layers ran. The request lives in this context only. With ``reduce`` each output is replaced by
    ``reduce(output)`` as soon as its layer has run (e.g. per-channel maxima), so a pass through many layers keeps only
    the reductions, not every layer's activations. With ``channels_first`` every output comes as :func:`channel_maps`
    (a view; gradients still reach the input through it).
    """
    return _run_capturing(model, x, layers, reduce, stop=True, channels_first=channels_first)[1]


def forward_through(model: nn.Module, x: Tensor, layers: Sequence[str]) -> tuple[Tensor, dict[str, Tensor]]:
    """Run the whole of ``model`` on ``x``: (its output, the named layers' outputs in the order they ran). The outputs
    stay in the autograd graph, so gradients with respect to them can be taken (circuits); no hooks, this context only."""
    return _run_capturing(model, x, layers, None, stop=False)


def _run_capturing(
    model: nn.Module, x: Tensor, layers: Sequence[str], reduce: Callable[[Tensor], Any] | None, stop: bool, channels_first: bool = False
) -> tuple[Any, dict[str, Any]]:
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise KeyError(f"model has no layer {unknown[0]!r}")
    unsupported = [name for name in layers if not isinstance(modules[name], OutputEmitter)]
    if unsupported:
        choices = [name for name, module in modules.items() if isinstance(module, OutputEmitter)]
        raise ValueError(
            f"layer {unsupported[0]!r} is a {type(modules[unsupported[0]]).__name__}; outputs can be read from B-cos layers, norms "
            f"and blocks: {', '.join(choices[:12])}…"
        )
    capture = _Capture({id(modules[name]): name for name in layers}, reduce, stop=stop, channels_first=channels_first)
    token = _CAPTURE.set(capture)
    output = None
    try:
        output = model(x)
    except _StopForward:
        pass
    finally:
        _CAPTURE.reset(token)
    missing = [name for name in layers if name not in capture.outputs]
    if missing:
        raise RuntimeError(f"layer {missing[0]!r} was not reached in the forward pass")
    return output, capture.outputs


def constant_term(name: str, value: Tensor) -> Tensor:
    """Mark an input-independent term that a model adds inside its forward pass (a ViT's positional embedding).

    Outside :func:`tracking_constant_terms` this returns ``value``; inside, a copy that autograd treats as a leaf, so an
    explanation can take the output's gradient with respect to it: its exact contribution, reported beside the pixels'.
    Give it a batch dimension (e.g. ``expand``) so that each image of a batch gets its own term.
    """
    terms = _CONSTANT_TERMS.get()
    if terms is None:
        return value
    leaf = value.detach().requires_grad_(True)
    terms[name] = leaf
    return leaf


@contextlib.contextmanager
def tracking_constant_terms() -> Iterator[dict[str, Tensor]]:
    """Collect the :func:`constant_term` leaves of the forward passes in this block (name → tensor), in this context only."""
    terms: dict[str, Tensor] = {}
    token = _CONSTANT_TERMS.set(terms)
    try:
        yield terms
    finally:
        _CONSTANT_TERMS.reset(token)


def is_in_explanation_mode(module: nn.Module) -> bool:
    """True when ``module`` is inside an active :func:`explanation_mode` block."""
    return id(module) in _EXPLAINED_MODULE_IDS.get()
