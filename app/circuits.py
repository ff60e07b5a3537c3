"""Cached circuit computations and their figures: what feeds a class, a Δ or a neuron (``bcos_core.circuits``).

A target is a small hashable key, so results cache per model, image and target: ``("class", c)``,
``("delta", c1, c2)`` or ``("neuron", layer, channel)`` (the neuron at its maximum on the image).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from bcos_core.circuits import Circuit, Neuron, Target, channel_totals_over_images, explain_channels, explain_circuit
from bcos_core.preprocessing import encode_crop, encode_images

from .compute import get_model, model_input, uses_model
from .memo import cached_by_content

TargetKey = tuple


def library_target(key: TargetKey) -> Target:
    """The ``bcos_core.circuits`` target of a page's key."""
    kind, *rest = key
    if kind == "class":
        return int(rest[0])
    if kind == "delta":
        return int(rest[0]), int(rest[1])
    if kind == "neuron":
        return Neuron(str(rest[0]), int(rest[1]))
    raise ValueError(f"unknown target kind {kind!r}")


@dataclass(frozen=True)
class Feed:
    """A target explained by one lower layer's channels, reduced to numpy for the page."""

    layer: str
    value: float
    bias: float
    constant_terms: float
    totals: np.ndarray  # (C,) each channel's contribution
    maps: np.ndarray  # (C, H, W) contributions per position (a ViT's tokens as their grid)

    @property
    def completeness_error(self) -> float:
        return abs(float(self.totals.sum()) + self.constant_terms + self.bias - self.value) / max(abs(self.value), 1.0)

    def strongest(self, count: int, sign: int) -> list[int]:
        """Up to ``count`` channels with the largest contribution of this sign (1: for, −1: against)."""
        order = np.argsort(-sign * self.totals, kind="stable")[:count]
        return [int(c) for c in order if self.totals[c] * sign > 0]


@st.cache_data(show_spinner="Tracing what feeds it…", max_entries=256)
@uses_model
def feed(model_name: str, image_id: str, layer: str, key: TargetKey) -> Feed:
    """The exact contribution of every channel of ``layer`` to the target (one forward and one backward pass)."""
    crop, _, _ = model_input(model_name, image_id)
    expl = explain_channels(get_model(model_name).model, encode_crop(crop), layer, library_target(key))
    return Feed(
        layer,
        expl.value,
        expl.bias,
        float(sum(expl.constant_terms.values())),
        expl.channel_totals.double().numpy(),
        expl.contributions.float().numpy(),
    )


@st.cache_data(show_spinner="Tracing the circuit…", max_entries=64)
@uses_model
def circuit(model_name: str, image_id: str, key: TargetKey, layers: tuple[str, ...], top_k: int) -> Circuit:
    crop, _, _ = model_input(model_name, image_id)
    return explain_circuit(get_model(model_name).model, encode_crop(crop), library_target(key), layers, top_k)


@st.cache_data(show_spinner="Explaining the neuron on its top images…", max_entries=128)
@uses_model
def feed_over_top_images(model_name: str, layer: str, neuron_layer: str, channel: int, crops: np.ndarray) -> np.ndarray:
    """(C,) mean contribution of each channel of ``layer`` to the neuron over the given (N, S, S, 3) uint8 crops, each
    at the neuron's maximum: which lower concepts the neuron composes across the data set."""
    images = encode_images(torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255)
    totals = channel_totals_over_images(get_model(model_name).model, images, layer, Neuron(neuron_layer, channel))
    return totals.double().mean(0).numpy()


@cached_by_content(256)
def channel_bars(totals: np.ndarray, channels: list[int], names: list[str], height: int = 300) -> go.Figure:
    """Horizontal bars of the given channels' contributions (red for, blue against), largest at the top."""
    values = [float(totals[c]) for c in channels]
    return go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=["#d62728" if v > 0 else "#1f77b4" for v in values],
            hovertemplate="%{y}: %{x:.5f}<extra></extra>",
        ),
        dict(
            height=height,
            margin=dict(l=4, r=4, t=24, b=4),
            yaxis=dict(autorange="reversed", type="category", dtick=1),
            xaxis=dict(title="exact contribution", zeroline=True),
        ),
    )


def circuit_figure(graph: Circuit, target_label: str, label_of, height: int = 420) -> go.Figure:
    """Node-link view: the target on the right, each layer's top channels in a column to its left; node size ∝
    |activation| (summed over positions), edge width ∝ |exact contribution| (red for, blue against)."""
    columns = {layer: len(graph.layers) - i for i, layer in enumerate(graph.layers)}  # the target sits at x = len + 1
    place = {None: (len(graph.layers) + 1, 0.0)}
    sizes = []
    for layer in graph.layers:
        nodes = graph.nodes[layer]
        for rank, node in enumerate(nodes):
            place[(layer, node.channel)] = (columns[layer], rank - (len(nodes) - 1) / 2)
        sizes += [abs(node.activation) for node in nodes]
    largest_edge = max((abs(e.contribution) for e in graph.edges), default=1.0) or 1.0
    traces = []
    for edge in graph.edges:
        (x0, y0), (x1, y1) = place[edge.lower], place[edge.upper]
        traces.append(
            go.Scatter(
                x=[x0, x1],
                y=[y0, y1],
                mode="lines",
                line=dict(width=0.5 + 7 * abs(edge.contribution) / largest_edge, color="#d62728" if edge.contribution > 0 else "#1f77b4"),
                opacity=0.6,
                hoverinfo="skip",
                showlegend=False,
            )
        )
    largest_size = max(sizes, default=1.0) or 1.0
    nodes = [(layer, node) for layer in graph.layers for node in graph.nodes[layer]]
    traces.append(
        go.Scatter(
            x=[place[(layer, n.channel)][0] for layer, n in nodes] + [place[None][0]],
            y=[place[(layer, n.channel)][1] for layer, n in nodes] + [0.0],
            mode="markers+text",
            text=[label_of(layer, n.channel) for layer, n in nodes] + [target_label],
            textposition="top center",
            marker=dict(size=[10 + 26 * abs(n.activation) / largest_size for _, n in nodes] + [30], color="#444"),
            customdata=[[n.contribution, _node_exactness(graph, layer, n.channel)] for layer, n in nodes] + [[graph.value, ""]],
            hovertemplate="%{text}<br>contribution to the target %{customdata[0]:.5f}<br>%{customdata[1]}<extra></extra>",
            showlegend=False,
        )
    )
    ticks = [columns[layer] for layer in graph.layers] + [place[None][0]]
    return go.Figure(
        traces,
        dict(
            height=height,
            margin=dict(l=4, r=4, t=24, b=4),
            xaxis=dict(tickvals=ticks, ticktext=[*graph.layers, "target"], showgrid=False, zeroline=False),
            yaxis=dict(visible=False),
        ),
    )


def _node_exactness(graph: Circuit, layer: str, channel: int) -> str:
    """The node's readout: all lower channels' contributions (+ constant terms) add up to its own contribution."""
    incoming = graph.inputs.get((layer, channel))
    if incoming is None:
        return "bottom layer of the graph"
    total = float(incoming.double().sum()) + graph.node_terms[(layer, channel)]
    return f"Σ lower channels {total:.5f}"
