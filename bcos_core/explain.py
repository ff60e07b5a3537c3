"""Exact explanations of B-cos networks: classes, class differences (Δ) and intermediate neurons.

In explanation mode a B-cos network is y = W(x)·x with W(x) constant for autograd, so the input gradient
of any output is its row of W(x) (the *linear map*) and the per-pixel contributions x ⊙ W(x), summed over
channels, add up to the output exactly. The only additive term is the logit layer's constant bias, reported
separately: Σ contributions + bias = logit. A model that adds an input-independent term inside (a ViT's positional
embedding, marked with ``bcos_core.layers.constant_term``) gets that term's exact contribution reported too, in
``constant_terms``: Σ contributions + Σ constant terms + bias = logit.

>>> expl = explain(model, x6)            # top-1 class of a (6, H, W) encoded image
>>> float(expl.contributions.sum() + expl.bias) == pytest.approx(expl.logit)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .layers import explanation_mode, forward_through, forward_to, passes_side_by_side, running_statistics, tracking_constant_terms


@dataclass(frozen=True)
class Explanation:
    """One explained score: its linear map (a row of W(x)), the per-pixel contributions and the bias.

    Attributes:
        target: what was explained: a class index, (class_1, class_2) for a Δ-explanation, or a channel.
        logit: the explained score (a logit, a logit gap, or a sign-corrected neuron activation).
        bias: the additive constant of that score (the logit bias; 0 for Δ and for neurons).
        linear_map: (C, H, W) the row of W(x); its dot product with ``image`` plus ``bias`` is ``logit``.
        contributions: (H, W) ``(image * linear_map).sum(0)``.
        image: (C, H, W) the encoded input that was explained.
        constant_terms: contributions of input-independent terms added inside the model (name → value; empty for CNNs).
    """

    target: int | tuple[int, int]
    logit: float
    bias: float
    linear_map: Tensor
    contributions: Tensor
    image: Tensor
    constant_terms: dict[str, float] = field(default_factory=dict)

    @property
    def completeness_error(self) -> float:
        """|Σ contributions + Σ constant terms + bias − logit| relative to max(|logit|, 1): zero up to float rounding."""
        total = float(self.contributions.double().sum()) + sum(self.constant_terms.values()) + self.bias
        return abs(total - self.logit) / max(abs(self.logit), 1.0)


@dataclass(frozen=True)
class NeuronExplanation(Explanation):
    """Explanation of one intermediate neuron (layer, channel, position).

    ``logit`` is sign·activation and ``linear_map`` is sign·∇activation: negative activations are flipped as in
    the paper, so the map always shows what drives the neuron's magnitude. ``receptive_field`` is
    (top, left, bottom, right), bottom/right exclusive: the input region that can influence this neuron.
    """

    layer: str = ""
    position: tuple[int, ...] = ()
    activation: float = 0.0
    sign: float = 1.0
    receptive_field: tuple[int, int, int, int] = (0, 0, 0, 0)


def _as_single_image(image: Tensor) -> Tensor:
    if image.dim() == 4 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 3:
        raise ValueError(f"expected one encoded image of shape (C, H, W) or (1, C, H, W), got {tuple(image.shape)}")
    return image.detach().clone().float()


CLASS_CHUNK = 32  # scalars per batched backward pass: the pass's memory grows with it, so 1,000 classes take 32 passes


def _linear_maps(outputs: Tensor, inputs: list[Tensor], chunk: int) -> list[Tensor]:
    """(k, *input shape) gradients of the k scalars in ``outputs`` for each input: batched backward passes of at most
    ``chunk`` scalars each through the one graph of the forward pass (memory bounded, however many classes). Inputs the
    outputs do not depend on get zeros."""
    k = outputs.numel()
    if k == 1:
        return [g[None] for g in torch.autograd.grad(outputs.reshape(()), inputs, allow_unused=True, materialize_grads=True)]
    parts: list[list[Tensor]] = []
    for start in range(0, k, chunk):
        stop = min(start + chunk, k)
        one_hots = torch.zeros(stop - start, k, dtype=outputs.dtype)
        one_hots[:, start:stop] = torch.eye(stop - start, dtype=outputs.dtype)
        parts.append(
            torch.autograd.grad(
                outputs,
                inputs,
                grad_outputs=one_hots,
                is_grads_batched=True,
                retain_graph=stop < k,
                allow_unused=True,
                materialize_grads=True,
            )
        )
    return [torch.cat(grads) for grads in zip(*parts)]


def _term_contributions(terms: dict[str, Tensor], gradients: list[Tensor], count: int) -> list[dict[str, float]]:
    """Each of ``count`` explained scalars' contribution Σ ∇term ⊙ term of every constant term. ``gradients`` hold the
    scalars along their first dimension: (k, 1, …) for k classes of one image, (N, …) for one neuron on N images,
    the term broadcasting against them either way."""
    values = {
        name: (gradient * term.detach()).flatten(1).double().sum(1).tolist() for (name, term), gradient in zip(terms.items(), gradients)
    }
    return [{name: v[i] for name, v in values.items()} for i in range(count)]


def _logit_bias(model: nn.Module) -> float:
    return float(getattr(model, "logit_bias", 0.0))


def class_logits(model: nn.Module, image: Tensor) -> Tensor:
    """Plain forward pass (no gradients): the (num_classes,) logits of one encoded image."""
    with torch.no_grad(), running_statistics(model):
        return model(_as_single_image(image)[None])[0]


def explain_classes(
    model: nn.Module, image: Tensor, targets: Sequence[int] | str = "all", *, class_chunk: int = CLASS_CHUNK
) -> list[Explanation]:
    """Explain several classes from one forward pass and batched backward passes (``class_chunk`` classes each).

    Args:
        model: a B-cos classifier (explanation mode is switched on for the call only).
        image: (C, H, W) or (1, C, H, W) encoded input.
        targets: class indices, ``"all"``, or ``"top<k>"`` (e.g. ``"top5"``) by logit.
        class_chunk: classes per backward pass; bounds the memory of the pass (the maps themselves are k·C·H·W).
    """
    x = _as_single_image(image).requires_grad_(True)
    with running_statistics(model), explanation_mode(model), tracking_constant_terms() as terms, torch.enable_grad():
        logits = model(x[None])[0]
        classes = _resolve_targets(targets, logits)
        maps, *term_grads = _linear_maps(logits[classes], [x, *terms.values()], class_chunk)
    constants = _term_contributions(terms, term_grads, len(classes))
    bias = _logit_bias(model)
    x, logits = x.detach(), logits.detach()
    return [
        Explanation(c, float(logits[c]), bias, linear_map, (x * linear_map).sum(0), x, constant)
        for c, linear_map, constant in zip(classes, maps, constants)
    ]


def predicted_linear_maps(model: nn.Module, images: Tensor) -> tuple[Tensor, Tensor]:
    """(logits (N, classes), rows of W(x) for each image's top class (N, C, H, W)) of a batch of encoded images.

    One forward and one backward pass for the whole batch: an eval-mode model treats the images of a batch
    independently, so the gradient of the summed top logits is each image's own linear map.
    """
    logits, maps = predicted_layer_maps(model, images, ())
    return logits, maps["input"][1]


def predicted_layer_maps(model: nn.Module, images: Tensor, layers: Sequence[str]) -> tuple[Tensor, dict[str, tuple[Tensor, Tensor]]]:
    """(logits, {"input" and each named layer: (its output, the top class's linear map from that output)}) of a batch.

    In explanation mode the logit is linear in the output of every layer that cuts the network in two
    (:func:`bcos_core.layers.circuit_layers`), and the gradient of the top logit with respect to that output is the
    map W_L(x) that multiplies it, as W(x) multiplies the input. One forward and one backward pass for all layers.
    A mirror-averaging model's layer tensors hold each image's two passes side by side, (N, 2·C, …).
    """
    x = images.detach().float().clone().requires_grad_(True)
    with running_statistics(model), explanation_mode(model), torch.enable_grad():
        logits, outputs = forward_through(model, x, layers)
        top = logits.detach().argmax(1, keepdim=True)
        gradients = torch.autograd.grad(logits.gather(1, top).sum(), [x, *outputs.values()])
    maps = {"input": (x.detach(), gradients[0])}
    for (name, output), gradient in zip(outputs.items(), gradients[1:]):
        maps[name] = (passes_side_by_side(output.detach(), len(x)), passes_side_by_side(gradient, len(x)))
    return logits.detach(), maps


def _resolve_targets(targets: Sequence[int] | str, logits: Tensor) -> list[int]:
    num_classes = logits.numel()
    if isinstance(targets, str):
        if targets == "all":
            return list(range(num_classes))
        if targets.startswith("top") and targets[3:].isdigit():
            k = min(int(targets[3:]), num_classes)
            return logits.detach().topk(k).indices.tolist()
        raise ValueError(f"targets must be class indices, 'all' or 'top<k>', not {targets!r}")
    classes = [int(c) for c in targets]
    bad = [c for c in classes if not 0 <= c < num_classes]
    if bad:
        raise ValueError(f"class indices {bad} out of range for {num_classes} classes")
    return classes


def explain(model: nn.Module, image: Tensor, target: int | None = None) -> Explanation:
    """Explain one class (default: the predicted one) of one encoded image."""
    return explain_classes(model, image, "top1" if target is None else [target])[0]


def explain_delta(model: nn.Module, image: Tensor, class_1: int, class_2: int) -> Explanation:
    """Δ-explanation of s_class_1 − s_class_2 (paper Fig. 9): its contributions sum exactly to the logit gap."""
    return delta_between(*explain_classes(model, image, [class_1, class_2]))


def delta_between(first: Explanation, second: Explanation) -> Explanation:
    """The Δ-explanation of two class explanations of the same image (no further passes through the model)."""
    linear_map = first.linear_map - second.linear_map
    return Explanation(
        (int(first.target), int(second.target)),
        first.logit - second.logit,
        first.bias - second.bias,
        linear_map,
        (first.image * linear_map).sum(0),
        first.image,
        {name: value - second.constant_terms.get(name, 0.0) for name, value in first.constant_terms.items()},
    )


def layer_activations(model: nn.Module, image: Tensor, layer: str, *, keep_graph: bool = False) -> Tensor:
    """Output of the module named ``layer`` for one encoded image (batch dimension removed).

    With ``keep_graph`` the result stays connected to ``image`` (which must require grad); otherwise it is detached.
    """
    return layer_outputs(model, image[None] if image.dim() == 3 else image, layer, keep_graph=keep_graph)[0]


def layer_outputs(model: nn.Module, images: Tensor, layer: str, *, keep_graph: bool = False) -> Tensor:
    """(N, C, …) output of ``layer`` (a B-cos layer or norm) for a batch of encoded images, channels first (a ViT layer's
    tokens as their square grid); the forward pass stops there.

    Per-call state only (no hooks, no mode flags), so other threads may use the same model at the same time.
    """
    with running_statistics(model), torch.set_grad_enabled(keep_graph):
        output = forward_to(model, images, [layer], channels_first=True)[layer]
    return output if keep_graph else output.detach()


def explain_neuron(model: nn.Module, image: Tensor, layer: str, channel: int, position: Sequence[int] | None = None) -> NeuronExplanation:
    """Explain channel ``channel`` of layer ``layer`` at a spatial ``position`` (default: where it is largest).

    The forward pass stops at ``layer``. The receptive field is the bounding box of the linear map's support.
    """
    return explain_neurons(model, _as_single_image(image)[None], layer, channel, [position])[0]


def explain_neurons(
    model: nn.Module, images: Tensor, layer: str, channel: int, positions: Sequence[Sequence[int] | None] | None = None
) -> list[NeuronExplanation]:
    """Explain one channel on a batch of encoded images (N, C, H, W), each at its own position (None: its maximum).

    One forward pass (stopping at ``layer``) and one backward pass for the whole batch: in eval mode the images
    do not interact, so the gradient of the sum of the selected activations is each image's own linear map.
    """
    if images.dim() != 4:
        raise ValueError(f"expected a batch of encoded images (N, C, H, W), got {tuple(images.shape)}")
    x = images.detach().clone().float().requires_grad_(True)
    positions = list(positions) if positions is not None else [None] * len(x)
    if len(positions) != len(x):
        raise ValueError(f"got {len(positions)} positions for {len(x)} images")
    with explanation_mode(model), tracking_constant_terms() as terms, torch.enable_grad():
        activations = layer_outputs(model, x, layer, keep_graph=True)
        if not 0 <= channel < activations.shape[1]:
            raise ValueError(f"layer {layer!r} has {activations.shape[1]} channels; got channel {channel}")
        channel_maps = activations[:, channel]
        resolved = [_resolve_position(channel_maps[i].detach(), position, layer) for i, position in enumerate(positions)]
        values = torch.stack([channel_maps[i][position] for i, position in enumerate(resolved)])
        gradients, *term_grads = torch.autograd.grad(values.sum(), [x, *terms.values()], allow_unused=True, materialize_grads=True)
    x = x.detach()
    explanations = []
    constants = _term_contributions(terms, term_grads, len(x))
    for image, gradient, value, position, constant in zip(x, gradients, values.detach().tolist(), resolved, constants):
        sign = -1.0 if value < 0 else 1.0
        linear_map = sign * gradient
        explanations.append(
            NeuronExplanation(
                target=channel,
                logit=sign * value,
                bias=0.0,
                linear_map=linear_map,
                contributions=(image * linear_map).sum(0),
                image=image,
                constant_terms={name: sign * v for name, v in constant.items()},
                layer=layer,
                position=position,
                activation=value,
                sign=sign,
                receptive_field=support_box(linear_map),
            )
        )
    return explanations


def _resolve_position(channel_map: Tensor, position: Sequence[int] | None, layer: str) -> tuple[int, ...]:
    """The given position, validated, or the position of the map's maximum."""
    if position is None:
        flat = int(channel_map.argmax())
        return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), channel_map.shape))
    position = tuple(int(p) for p in position)
    if len(position) != channel_map.dim() or any(not 0 <= p < s for p, s in zip(position, channel_map.shape)):
        raise ValueError(f"position {position} is outside the {tuple(channel_map.shape)} map of layer {layer!r}")
    return position


def support_box(linear_map: Tensor) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) bounding box, exclusive end, of the pixels where ``linear_map`` is non-zero."""
    support = linear_map.abs().sum(0) > 0
    rows, cols = support.any(1).nonzero().flatten(), support.any(0).nonzero().flatten()
    if len(rows) == 0:
        return (0, 0, 0, 0)
    return (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
