"""The "what feeds this" panel: the lower channels that make a class or a neuron, with exact contributions, their
maps on the image, their concept labels and top images, links to their gallery pages, and a circuit graph."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bcos_core.circuits import layers_below
from bcos_core.neuron_index import NeuronIndexError
from bcos_core.render import symmetric_limit

from . import circuits, figures
from .circuits import TargetKey
from .gallery import concept_labels, open_gallery, thumbnail, top_image_crops
from .pictures import show_picture
from .sidebar import Selection
from .state import init_widget, write_url

TILES_PER_SIGN = 4
BARS = 16
GRAPH_TOP_K = 6


def _labels(model_name: str):
    """(concept labels or None, the layers whose top images can be shown) of the model's neuron index."""
    try:
        gallery = open_gallery(model_name)
    except NeuronIndexError:
        return None, set()
    return concept_labels(gallery), set(gallery.index.layers) if gallery.samples is not None else set()


def what_feeds_this(selection: Selection, key: TargetKey, target_name: str, target_layer: str | None = None) -> str | None:
    """The panel for a class (``target_layer`` None) or a neuron of ``target_layer``, on the sidebar's image; returns
    the lower layer it explains by (None when there is no layer below)."""
    below = layers_below(selection.loaded.model, target_layer)
    if not below:
        st.caption("This is the first layer: the input pixels are what feed it (its explanation above).")
        return None
    init_widget("feed_layer", below[0], str, choices=below)
    if st.session_state["feed_layer"] not in below:
        st.session_state["feed_layer"] = below[0]
    layer = st.selectbox("Explain it by the channels of", below, key="feed_layer", help="Layers that cut the network in two, nearest first")
    write_url(feed_layer=layer)
    result = circuits.feed(selection.model_name, selection.image_id, layer, key)
    labels, indexed = _labels(selection.model_name)

    def name(channel: int) -> str:
        label = labels.get(layer, channel) if labels else ""
        return f"#{channel}" + (f" “{label}”" if label else "")

    st.markdown(
        f"**{target_name}** = Σ over {len(result.totals)} channels of {layer} **{result.totals.sum():.5f}**"
        + (f" + constant terms {result.constant_terms:.5f}" if result.constant_terms else "")
        + f" + bias {result.bias:.5f} = **{result.totals.sum() + result.constant_terms + result.bias:.5f}** "
        f"(model: {result.value:.5f}, relative error {result.completeness_error:.1e})"
    )
    positive, negative = result.strongest(BARS // 2, 1), result.strongest(BARS // 2, -1)
    left, right = st.columns([2, 3])
    left.plotly_chart(
        circuits.channel_bars(result.totals, positive + negative[::-1], [name(c) for c in positive + negative[::-1]]), key="feed_bars"
    )
    with right:
        _channel_tiles(selection, result, layer, positive[:TILES_PER_SIGN], "for", name, layer in indexed)
        _channel_tiles(selection, result, layer, negative[:TILES_PER_SIGN], "against", name, layer in indexed)
    init_widget("graph", False, lambda text: text in ("1", "True", "true"))
    show_graph = st.toggle("Circuit graph over three layers", key="graph", help="Three more backward passes; off by default")
    write_url(graph=int(show_graph))
    if show_graph:
        layers = tuple(below[:3])
        graph = circuits.circuit(selection.model_name, selection.image_id, key, layers, GRAPH_TOP_K)
        st.plotly_chart(
            circuits.circuit_figure(graph, target_name, lambda lay, c: f"{lay.rsplit('.', 1)[-1]} #{c}"),
            key="circuit_graph",
        )
        st.caption(
            f"The top {GRAPH_TOP_K} channels of each layer by |exact contribution to {target_name}|; an edge is a lower channel's exact "
            "contribution to the upper channel's contribution (red for, blue against), a node's size its activation. Hover a node for "
            "its readout: the contributions of all its lower channels add up to its own."
        )
    return layer


def _channel_tiles(selection: Selection, result: circuits.Feed, layer: str, channels: list[int], side: str, name, indexed: bool) -> None:
    """Each channel's contribution map on the image, its top data-set images and a link to its gallery page."""
    if not channels:
        st.caption(f"No channel of {layer} contributes {side}.")
        return
    limit = symmetric_limit([result.maps[c] for c in channels])
    columns = st.columns(TILES_PER_SIGN)
    for column, channel in zip(columns, channels):
        with column:
            st.caption(f"{side}: **{name(channel)}** {result.totals[channel]:+.4f}")
            pixels = [figures.contribution_pixels(result.maps[channel], limit, min_size=96)]
            if indexed:  # its map over its top data-set images, in one picture
                pixels.append(thumbnail(selection.model_name, layer, channel, count=3))
            show_picture(figures.stacked_pixels(pixels))
            if indexed:
                st.page_link(
                    "app_pages/neuron_gallery.py",
                    label="its gallery",
                    icon=":material/photo_library:",
                    query_params={"model": selection.model_name, "image": selection.image_id, "g_layer": layer, "neuron": channel},
                )


def composition_over_top_images(model_name: str, neuron_layer: str, channel: int, layer: str, count: int = 16) -> None:
    """Dataset level: the lower channels' mean contribution over the neuron's top images (which concepts it composes)."""
    crops = top_image_crops(model_name, neuron_layer, channel, count)
    if crops is None:
        return
    mean = circuits.feed_over_top_images(model_name, layer, neuron_layer, channel, crops)
    order = np.argsort(-np.abs(mean))[:10]
    labels, _ = _labels(model_name)
    names = [f"#{c}" + (f" “{labels.get(layer, int(c))}”" if labels and labels.get(layer, int(c)) else "") for c in order]
    st.plotly_chart(circuits.channel_bars(mean, [int(c) for c in order], names, height=260), key="composition_bars")
    st.caption(f"Mean exact contribution of each channel of {layer} to this neuron over its top {len(crops)} images, each at its maximum.")
