"""Circuits: exact contributions of a lower layer's channels to a class, a Δ or a higher neuron.

In explanation mode the part of a B-cos network above a cut layer k (:func:`bcos_core.layers.circuit_layers`) is
linear in that layer's output a_k, so a score s above it is

    s = Σ_j Σ_p ∂s/∂a_k[j, p] · a_k[j, p] + bias (+ input-independent terms added above the cut)

and each term is the exact contribution of channel j at position p. One backward pass gives them for every cut at
once; a circuit (the target, its top channels in the layer below, theirs in the layer below that, …) needs one more
batched backward pass per pair of layers, since a channel's contribution ∂s/∂a_U ⊙ a_U is itself linear in a_D.

>>> expl = explain_channels(model, x, "block3.conv1", target=3)          # class 3
>>> expl.channel_totals.sum() + expl.bias                                # == expl.value
>>> circuit = explain_circuit(model, x, 3, ["block3.conv2", "block3.conv1", "block2.conv2"], top_k=8)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .explain import _as_single_image, _logit_bias, _resolve_position, class_logits
from .layers import (
    OutputEmitter,
    channel_maps,
    circuit_layers,
    explanation_mode,
    fold_mirror_pass,
    forward_through,
    forward_to,
    running_statistics,
    tracking_constant_terms,
)


@dataclass(frozen=True)
class Neuron:
    """A neuron as a circuit target: channel ``channel`` of layer ``layer`` at ``position`` (None: where it is largest)."""

    layer: str
    channel: int
    position: tuple[int, ...] | None = None


Target = int | tuple[int, int] | Neuron


@dataclass(frozen=True)
class ChannelExplanation:
    """A score explained by the channels of one lower layer.

    Attributes:
        target: a class, a (class_1, class_2) Δ, or a :class:`Neuron` (its position resolved).
        layer: the cut layer whose channels explain it.
        value: the explained score (a logit, a logit gap, or a sign-corrected activation, as in ``explain``).
        bias: its additive constant (the logit bias for a class, 0 for a Δ and for neurons).
        contributions: (C, H, W) (a ViT layer's tokens as their grid, a vector as 1×1 maps): the exact
            contribution of every channel at every position; Σ contributions + Σ constant terms + bias = value.
        activations: the layer's output for this image, in the same layout.
        constant_terms: contributions of input-independent terms added above the cut (a ViT's positional embedding
            when the cut is its patch embedding).
    """

    target: int | tuple[int, int] | Neuron
    layer: str
    value: float
    bias: float
    contributions: Tensor
    activations: Tensor
    constant_terms: dict[str, float] = field(default_factory=dict)

    @property
    def channel_totals(self) -> Tensor:
        """(C,) each channel's contribution summed over its positions."""
        return self.contributions.flatten(1).sum(1)

    @property
    def completeness_error(self) -> float:
        """|Σ contributions + Σ constant terms + bias − value| relative to max(|value|, 1): zero up to float rounding."""
        total = float(self.contributions.double().sum()) + sum(self.constant_terms.values()) + self.bias
        return abs(total - self.value) / max(abs(self.value), 1.0)

    def top_channels(self, k: int, sign: int = 0) -> list[int]:
        """The ``k`` channels with the largest contribution: positive (sign 1), negative (−1) or by magnitude (0)."""
        totals = self.channel_totals
        order = (totals if sign > 0 else -totals if sign < 0 else totals.abs()).argsort(descending=True)
        chosen = [int(c) for c in order[:k]]
        return [c for c in chosen if sign == 0 or totals[c] * sign > 0]


@dataclass(frozen=True)
class CircuitNode:
    """One channel of a circuit: its exact contribution to the circuit's target and its activation (summed over
    positions: the channel's share of the layer's output that the contribution weighs)."""

    layer: str
    channel: int
    contribution: float
    activation: float


@dataclass(frozen=True)
class CircuitEdge:
    """``lower`` (layer, channel) contributes ``contribution`` to ``upper``: a (layer, channel), or None for the target."""

    lower: tuple[str, int]
    upper: tuple[str, int] | None
    contribution: float


@dataclass(frozen=True)
class Circuit:
    """The target, the top channels of each layer (top to bottom) and the exact contributions between them.

    ``inputs[(layer, channel)]`` is the (C_lower,) vector of every lower channel's contribution to that node (only for
    nodes with a layer below): Σ of it + ``node_terms`` (constant terms between the layers) = the node's contribution.
    """

    target: int | tuple[int, int] | Neuron
    value: float
    bias: float
    layers: list[str]
    nodes: dict[str, list[CircuitNode]]
    edges: list[CircuitEdge]
    totals: dict[str, Tensor]
    inputs: dict[tuple[str, int], Tensor]
    node_terms: dict[tuple[str, int], float]
    constant_terms: dict[str, dict[str, float]]

    def completeness_error(self, layer: str) -> float:
        """|Σ channel contributions of ``layer`` + constant terms + bias − value| relative to max(|value|, 1)."""
        total = float(self.totals[layer].double().sum()) + sum(self.constant_terms[layer].values()) + self.bias
        return abs(total - self.value) / max(abs(self.value), 1.0)


def layers_below(model: nn.Module, target_layer: str | None = None) -> list[str]:
    """The cut layers that can explain a neuron of ``target_layer`` (cuts that run before it and do not contain it), or a
    class (None: every cut but the classifier, whose channels are the classes themselves), nearest first."""
    cuts = circuit_layers(model)
    if target_layer is None:
        return cuts[:-1][::-1]
    names = [name for name, _ in model.named_modules()]  # definition order is forward order in every zoo model
    if target_layer not in names:
        raise KeyError(f"model has no layer {target_layer!r}")
    before = names[: names.index(target_layer)]
    return [cut for cut in cuts if cut in before and not target_layer.startswith(cut + ".")][::-1]


def _channels_first(output: Tensor, module: nn.Module) -> Tensor:
    """One image's layer output with channels first: (C, H, W) (a ViT's tokens as their grid, a vector as 1×1 maps);
    a mirror-averaging model's own pass."""
    return channel_maps(output, module.channel_dim)[0]


def _summed_channels_first(contributions: Tensor, module: nn.Module) -> Tensor:
    """One image's contributions at a layer, channels first (C, H, W), summed over a mirror-averaging model's passes."""
    return fold_mirror_pass(channel_maps(contributions, module.channel_dim), 1)[0]


def _checked_cuts(model: nn.Module, layers: Sequence[str]) -> None:
    cuts = circuit_layers(model)
    bad = [layer for layer in layers if layer not in cuts]
    if bad:
        raise ValueError(
            f"layer {bad[0]!r} does not separate the input from the output (a skip connection goes around it, or it is no B-cos "
            f"layer or block); layers that do: {', '.join(cuts)}"
        )


def _score(model: nn.Module, x: Tensor, layers: list[str], target: Target) -> tuple[Tensor, dict[str, Tensor], Target, float]:
    """Forward pass capturing ``layers`` (in the graph): (score, captured outputs in forward order, resolved target, bias)."""
    if isinstance(target, Neuron):
        outputs = forward_to(model, x, [*layers, target.layer])
        ran = list(outputs)
        late = [layer for layer in layers if ran.index(layer) > ran.index(target.layer)]
        if late or target.layer in layers:
            raise ValueError(f"layer {(late or [target.layer])[0]!r} is not below the neuron's layer {target.layer!r}")
        maps = _channels_first(outputs.pop(target.layer), dict(model.named_modules())[target.layer])
        if not 0 <= target.channel < maps.shape[0]:
            raise ValueError(f"layer {target.layer!r} has {maps.shape[0]} channels; got channel {target.channel}")
        position = _resolve_position(maps[target.channel].detach(), target.position, target.layer)
        value = maps[target.channel][position]
        sign = -1.0 if float(value.detach()) < 0 else 1.0
        return sign * value, outputs, Neuron(target.layer, target.channel, position), 0.0
    logits, outputs = forward_through(model, x, layers)
    logits = logits[0]
    if isinstance(target, tuple):
        first, second = (int(c) for c in target)
        return logits[first] - logits[second], outputs, (first, second), 0.0
    return logits[int(target)], outputs, int(target), _logit_bias(model)


def _upstream(terms: dict[str, Tensor], output: Tensor) -> set[str]:
    """Names of the constant terms that ``output`` depends on (they are inside it, not added above it)."""
    if not terms:
        return set()
    grads = torch.autograd.grad(output, list(terms.values()), torch.ones_like(output), retain_graph=True, allow_unused=True)
    return {name for name, grad in zip(terms, grads) if grad is not None}


def explain_channels(model: nn.Module, image: Tensor, layer: str, target: Target) -> ChannelExplanation:
    """Explain a class (index), a Δ ((class_1, class_2)) or a :class:`Neuron` by the channels of the cut ``layer``.

    One forward and one backward pass in explanation mode, per-call state only (safe on a shared model).
    """
    return explain_channels_of_layers(model, image, [layer], target)[0]


def explain_channels_of_layers(model: nn.Module, image: Tensor, layers: Sequence[str], target: Target) -> list[ChannelExplanation]:
    """:func:`explain_channels` for several cut layers at once, from one forward and one backward pass."""
    layers = list(layers)
    _checked_cuts(model, layers)
    modules = dict(model.named_modules())
    x = _as_single_image(image)[None]
    with running_statistics(model), explanation_mode(model), tracking_constant_terms() as terms, torch.enable_grad():
        score, outputs, resolved, bias = _score(model, x, layers, target)
        grads = torch.autograd.grad(
            score, [outputs[name] for name in layers] + list(terms.values()), retain_graph=bool(terms), allow_unused=True
        )
        inside = {name: _upstream(terms, outputs[name]) for name in layers}
    term_values = {
        name: float((grad * term.detach()).double().sum())
        for (name, term), grad in zip(terms.items(), grads[len(layers) :])
        if grad is not None
    }
    explanations = []
    for name, grad in zip(layers, grads):
        output = outputs[name].detach()
        contributions = grad * output if grad is not None else torch.zeros_like(output)
        explanations.append(
            ChannelExplanation(
                target=resolved,
                layer=name,
                value=float(score.detach()),
                bias=bias,
                contributions=_summed_channels_first(contributions, modules[name]),
                activations=_channels_first(output, modules[name]),
                constant_terms={term: value for term, value in term_values.items() if term not in inside[name]},
            )
        )
    return explanations


def explain_circuit(model: nn.Module, image: Tensor, target: Target, layers: Sequence[str], top_k: int = 8) -> Circuit:
    """The circuit of ``target`` through ``layers`` (cut layers, any order; returned top to bottom): the ``top_k`` channels
    of each layer by the magnitude of their exact contribution to the target, and between consecutive layers the exact
    contribution of each lower channel to each upper channel's contribution. 1 + (len(layers) − 1) backward passes."""
    layers = list(layers)
    _checked_cuts(model, layers)
    order = {name: i for i, name in enumerate(circuit_layers(model))}
    layers = sorted(set(layers), key=lambda name: -order[name])
    modules = dict(model.named_modules())
    x = _as_single_image(image)[None]
    with running_statistics(model), explanation_mode(model), tracking_constant_terms() as terms, torch.enable_grad():
        score, outputs, resolved, bias = _score(model, x, layers, target)
        captured = [outputs[name] for name in layers]
        grads = torch.autograd.grad(score, captured + list(terms.values()), retain_graph=True, allow_unused=True, materialize_grads=True)
        inside = {name: _upstream(terms, outputs[name]) for name in layers}
        term_values = {
            name: float((grad * term.detach()).double().sum()) for (name, term), grad in zip(terms.items(), grads[len(layers) :])
        }
        totals, nodes = {}, {}
        for name, grad in zip(layers, grads):
            per_channel = _summed_channels_first(grad * outputs[name].detach(), modules[name])
            totals[name] = per_channel.flatten(1).sum(1)
            activation = _channels_first(outputs[name].detach(), modules[name])
            activation = activation.flatten(1).sum(1)
            chosen = totals[name].abs().argsort(descending=True)[:top_k].tolist()
            nodes[name] = [CircuitNode(name, c, float(totals[name][c]), float(activation[c])) for c in chosen]
        edges = [CircuitEdge((layers[0], node.channel), None, node.contribution) for node in nodes[layers[0]]]
        inputs: dict[tuple[str, int], Tensor] = {}
        node_terms: dict[tuple[str, int], float] = {}
        for upper, lower, upper_grad in zip(layers, layers[1:], grads):
            upper_module = modules[upper]
            channels = [node.channel for node in nodes[upper]]
            masks = torch.zeros(len(channels), *upper_grad.shape, dtype=upper_grad.dtype)
            for row, channel in enumerate(channels):
                masks[row].movedim(upper_module.channel_dim, 1)[:, channel] = 1
            masks = masks * upper_grad  # row j: the upper node j's contribution as a linear function of a_upper
            between = [name for name in terms if name in inside[upper] and name not in inside[lower]]
            lower_grads, *term_grads = torch.autograd.grad(
                outputs[upper], [outputs[lower], *(terms[name] for name in between)], masks, retain_graph=True, is_grads_batched=True
            )
            lower_output = outputs[lower].detach()
            for row, channel in enumerate(channels):
                per_channel = _summed_channels_first(lower_grads[row] * lower_output, modules[lower])
                inputs[(upper, channel)] = per_channel.flatten(1).sum(1)
                node_terms[(upper, channel)] = sum(
                    float((g[row] * terms[name].detach()).double().sum()) for name, g in zip(between, term_grads)
                )
                for node in nodes[lower]:
                    edges.append(CircuitEdge((lower, node.channel), (upper, channel), float(inputs[(upper, channel)][node.channel])))
    return Circuit(
        target=resolved,
        value=float(score.detach()),
        bias=bias,
        layers=layers,
        nodes=nodes,
        edges=edges,
        totals={name: t.detach() for name, t in totals.items()},
        inputs=inputs,
        node_terms=node_terms,
        constant_terms={name: {t: v for t, v in term_values.items() if t not in inside[name]} for name in layers},
    )


def channel_totals_over_images(
    model: nn.Module, images: Tensor, layer: str, neuron: Neuron, positions: Sequence[Sequence[int] | None] | None = None
) -> Tensor:
    """(N, C) each lower channel's exact contribution (summed over positions) to ``neuron`` on each of N images, each
    at its own position (None: where the neuron is largest on that image). One forward and one backward pass: in eval
    mode the images of a batch do not interact. Averaged over a neuron's top images it says which lower concepts it
    composes."""
    _checked_cuts(model, [layer])
    modules = dict(model.named_modules())
    if not isinstance(modules.get(neuron.layer), OutputEmitter):
        raise ValueError(f"no layer {neuron.layer!r} to explain")
    x = images.detach().float()
    positions = list(positions) if positions is not None else [None] * len(x)
    with running_statistics(model), explanation_mode(model), torch.enable_grad():
        outputs = forward_to(model, x, [layer, neuron.layer])
        if list(outputs).index(layer) > list(outputs).index(neuron.layer) or layer == neuron.layer:
            raise ValueError(f"layer {layer!r} is not below the neuron's layer {neuron.layer!r}")
        maps = channel_maps(outputs[neuron.layer], modules[neuron.layer].channel_dim)[:, neuron.channel]
        values = torch.stack([maps[i][_resolve_position(maps[i].detach(), p, neuron.layer)] for i, p in enumerate(positions)])
        signs = torch.where(values.detach() < 0, -1.0, 1.0)
        (grad,) = torch.autograd.grad((signs * values).sum(), outputs[layer])
    contributions = channel_maps(grad * outputs[layer].detach(), modules[layer].channel_dim)
    return contributions.flatten(2).sum(2)


def _index_description(model_name: str, layer: str):
    """channel → what the model's neuron index says it responds to (the commonest class among its top images and that
    class's share); nothing when there is no index with the layer."""
    from .neuron_index import NeuronIndexError, find_indexes, load_index

    try:
        paths = find_indexes(model_name)
        index = load_index(paths[0]) if paths else None
    except NeuronIndexError:
        index = None
    if index is None or layer not in index.layers:
        return lambda channel: {}
    histogram = index.layers[layer].class_histogram(len(index.class_names))

    def describe(channel: int) -> dict:
        counts = histogram[channel]
        top = int(counts.argmax())
        return {"top_images_mostly": index.class_names[top], "share": round(float(counts[top] / counts.sum()), 2)}

    return describe


def main(argv: list[str] | None = None) -> int:
    """``python -m bcos_core.circuits IMAGE [--model NAME] [--target CLASS] [--layer L] [--top 5]``: the channels of a
    layer that drive a class on an image, with their exact contributions and the readout, as JSON."""
    import argparse
    import json

    from PIL import Image

    from .zoo import DEFAULT_MODEL, load_model

    parser = argparse.ArgumentParser(description=main.__doc__.split("\n\n")[0])
    parser.add_argument("image", help="an image file")
    parser.add_argument("--model", default=None, help="registered name or path (default: the shipped default model)")
    parser.add_argument("--target", default=None, help="class name or index (default: the predicted class)")
    parser.add_argument("--layer", default=None, help="a cut layer (default: the last one below the classifier)")
    parser.add_argument("--top", type=int, default=5, help="channels for and against to list")
    args = parser.parse_args(argv)
    loaded = load_model(args.model) if args.model else load_model()
    with Image.open(args.image) as picture:
        x = loaded.preprocess(picture.convert("RGB"))[0]
    logits = class_logits(loaded.model, x)
    names = loaded.class_names
    target = int(logits.argmax()) if args.target is None else names.index(args.target) if args.target in names else int(args.target)
    layer = args.layer or layers_below(loaded.model)[0]
    expl = explain_channels(loaded.model, x, layer, target)
    totals = expl.channel_totals

    described = _index_description(args.model or DEFAULT_MODEL, layer)

    def listing(sign: int) -> list[dict]:
        return [{"channel": c, "contribution": round(float(totals[c]), 5), **described(c)} for c in expl.top_channels(args.top, sign)]

    report = {
        "model": args.model or "default",
        "image": args.image,
        "class": names[target],
        "logit": round(expl.value, 5),
        "layer": layer,
        "sum_of_channel_contributions": round(float(totals.double().sum()), 5),
        "bias": round(expl.bias, 5),
        "relative_error": float(f"{expl.completeness_error:.1e}"),
        "for": listing(1),
        "against": listing(-1),
        "share_of_top_for": round(float(totals[expl.top_channels(args.top, 1)].sum() / totals.clamp(min=0).sum()), 3),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
