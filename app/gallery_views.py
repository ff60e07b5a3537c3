"""Widgets of the neuron gallery page: the neuron grid, one neuron's explained top images, concept labels."""

from __future__ import annotations

import random

import numpy as np
import streamlit as st

from bcos_core.neuron_index import HISTOGRAM_EDGES, ConceptLabels, labels_path

from . import compute, figures
from .circuit_views import composition_over_top_images, what_feeds_this
from .gallery import RANKINGS, TILE_VIEWS, Gallery, concept_labels, labels_are_shared, neuron_tiles, ranked_channels, save_labels, thumbnail
from .pictures import show_picture
from .pipeline import RenderOptions
from .sidebar import Selection
from .state import init_widget, write_url

GRID_COLUMNS = 6
GRID_SIZE = 24  # neurons shown in the grid
TILES = 16  # explained top images on a neuron's page


def open_neuron(layer: str, channel: int | None) -> None:
    """Switch the page to one neuron (None: back to the grid)."""
    st.session_state["g_layer"] = layer
    st.session_state["neuron"] = -1 if channel is None else channel


def neuron_grid(selection: Selection, gallery: Gallery, layer: str, labels: ConceptLabels) -> None:
    """The layer's neurons ranked by a score, filtered by label search, each with its top images and a button."""
    init_widget("rank", next(iter(RANKINGS)), choices=list(RANKINGS))
    ranking = st.radio("Rank neurons by", list(RANKINGS), key="rank", horizontal=True)
    query = st.text_input("Search concept labels", key="label_query", placeholder="e.g. wheel")
    order, scores = ranked_channels(gallery, layer, ranking)
    write_url(rank=ranking)
    if query.strip():
        hits = labels.search(query, layer)
        order = [c for c in order if c in {channel for _, channel, _ in hits}]
        st.caption(f"{len(order)} labelled neurons of {layer} match “{query}” ({len(labels.search(query))} in all layers)")
    channels = gallery.index.layers[layer].channels
    st.button("🎲 Random neuron", key="random_neuron", on_click=lambda: open_neuron(layer, random.randrange(channels)))
    classes = gallery.class_names
    stats = gallery.index.layers[layer]
    top_class = stats.class_histogram(len(classes)).argmax(1).numpy()
    columns = st.columns(GRID_COLUMNS)
    for slot, channel in enumerate(order[:GRID_SIZE]):
        with columns[slot % GRID_COLUMNS]:
            if gallery.samples is not None:
                show_picture(thumbnail(selection.model_name, layer, channel))
            label = labels.get(layer, channel)
            st.caption(
                f"**#{channel}**{' “' + label + '”' if label else ''}  \nmean max {scores['mean_max'][channel]:.3g} · "
                f"spec. {scores['specificity'][channel]:.2f} · {scores['purity'][channel]:.0%} {classes[top_class[channel]]}"
            )
            st.button("Open", key=f"open_{layer}_{channel}", on_click=open_neuron, args=(layer, channel))
    with st.expander(f"All {len(order)} neurons of {layer} as a table"):
        st.dataframe(
            {
                "channel": order,
                "label": [labels.get(layer, c) for c in order],
                "mean max": scores["mean_max"][order],
                "specificity": scores["specificity"][order],
                "class purity": scores["purity"][order],
                "top class": [classes[top_class[c]] for c in order],
            },
            hide_index=True,
        )


def neuron_page(selection: Selection, gallery: Gallery, layer: str, channel: int, labels: ConceptLabels, render: RenderOptions) -> None:
    """One neuron: label, explained top images, histograms, and the neuron on the sidebar's image."""
    stats = gallery.index.layers[layer]
    st.button("← All neurons of this layer", key="back_to_grid", on_click=open_neuron, args=(layer, None))
    st.subheader(f"{layer} · channel {channel}" + (f" · “{labels.get(layer, channel)}”" if labels.get(layer, channel) else ""))
    label_editor(gallery, layer, channel, labels)
    classes = gallery.class_names
    left, right = st.columns(2)
    left.plotly_chart(figures.class_histogram_figure(classes, stats.class_histogram(len(classes))[channel].numpy()), key="class_hist")
    smallest_top = float(stats.top_values[channel, -1])
    right.plotly_chart(
        figures.maxima_histogram_figure(HISTOGRAM_EDGES.numpy(), stats.histogram[channel].numpy(), smallest_top), key="max_hist"
    )
    if gallery.samples is None:
        st.warning(f"The top images cannot be shown: {gallery.data_problem}")
        return
    init_widget("tile_view", TILE_VIEWS[1], choices=list(TILE_VIEWS))
    view = st.radio(
        "Show",
        TILE_VIEWS,
        key="tile_view",
        horizontal=True,
        help=(
            "Each tile is the receptive field of the neuron's maximum on that image; the explanation is the neuron's own exact B-cos "
            "explanation"
        ),
    )
    write_url(tile_view=view)
    tiles = neuron_tiles(selection.model_name, layer, channel, TILES, render.smooth, render.percentile, render.background)
    worst = max(tile.completeness_error for tile in tiles)
    st.caption(
        f"Top {len(tiles)} of {stats.images_seen:,} images (of {stats.k} indexed). Every tile's contributions sum to its activation "
        f"(largest relative error {worst:.1e}). A second crop appears where a clearly separate position reaches half the maximum."
    )
    columns = st.columns(8)
    for slot, tile in enumerate(tiles):
        with columns[slot % 8]:
            show_picture(tile.views[view], f"{tile.label} · {tile.activation:.3g}")
            if tile.second is not None:
                show_picture(tile.second[view], f"2nd peak · {tile.second_ratio:.0%}")
    try_your_image(selection, layer, channel, render)
    st.markdown("#### What feeds this neuron")
    st.caption("The lower channels that make this neuron fire on your image, each with its exact share of the activation.")
    lower = what_feeds_this(selection, ("neuron", layer, channel), f"{layer}[{channel}]", layer)
    if lower is not None:
        composition_over_top_images(selection.model_name, layer, channel, lower, TILES)
    st.page_link(
        "app_pages/explain_classes.py",
        label="Back to the class explanation of your image",
        icon=":material/arrow_back:",
        query_params={"model": selection.model_name, "image": selection.image_id},
    )


def try_your_image(selection: Selection, layer: str, channel: int, render: RenderOptions) -> None:
    """The same neuron on the sidebar's image (a sample, a data-set image or an upload)."""
    st.markdown("#### This neuron on your image")
    st.caption("Pick or upload an image in the sidebar; the neuron is explained at its maximum on that image.")
    expl = compute.neuron_explanation(selection.model_name, selection.image_id, layer, channel, None)
    top, left, bottom, right = expl.receptive_field
    crop = (slice(top, bottom), slice(left, right)) if bottom > top else (slice(None), slice(None))
    cols = st.columns([1, 1, 1, 2])
    with cols[0]:
        show_picture(figures.image_pixels(selection.crop[crop]), "receptive field", key="own_crop")
    with cols[1]:
        show_picture(figures.explanation_pixels(expl, render, crop=crop), "explanation", key="own_rgba")
    limit = float(np.abs(expl.contributions).max()) or 1.0
    cols[2].plotly_chart(figures.contribution_figure(expl.contributions[crop], limit, "contributions", height=220), key="own_contrib")
    cols[3].markdown(f"activation **{expl.activation:.4g}** (Σ contributions {expl.contribution_sum:.4g})")


def label_editor(gallery: Gallery, layer: str, channel: int, labels: ConceptLabels) -> None:
    """Name the neuron's concept (kept for this visitor, or in the operator's shared store)."""
    key = f"label_{layer}_{channel}"
    with st.form(key=f"label_form_{layer}_{channel}", border=False):
        name_col, save_col = st.columns([4, 1])
        name_col.text_input("Concept label", value=labels.get(layer, channel), placeholder="what does this neuron respond to?", key=key)
        save_col.form_submit_button("Save label", on_click=_save_label, args=(gallery, layer, channel, key))


def _save_label(gallery: Gallery, layer: str, channel: int, key: str) -> None:
    """Form callback: runs before the page, so the new label shows everywhere on this run."""
    labels, text = concept_labels(gallery), st.session_state[key]
    labels.set(layer, channel, text)
    save_labels(gallery, labels)
    st.toast(f"Saved “{labels.get(layer, channel)}” for {layer}[{channel}]" if text.strip() else f"Removed the label of {layer}[{channel}]")


def label_file_controls(gallery: Gallery) -> None:
    """Export and import the labels file (sidebar)."""
    labels = concept_labels(gallery)
    with st.sidebar.expander(f"Concept labels ({len(labels.labels)})"):
        st.caption(
            "Shared by everyone using this server."
            if labels_are_shared()
            else "Yours only, kept while this tab is open: export them to keep them."
        )
        st.download_button("Export labels (JSON)", labels.to_json(), file_name=labels_path(gallery.path).name, mime="application/json")
        upload = st.file_uploader("Import labels (JSON)", type=["json"], key="labels_upload")
        if upload is not None and st.session_state.get("_labels_imported") != upload.file_id:
            try:
                added = labels.merge(ConceptLabels.from_json(upload.getvalue(), labels.model_fingerprint))
            except ValueError as error:
                st.error(f"Import refused: {error}")
            else:
                save_labels(gallery, labels)
                st.session_state["_labels_imported"] = upload.file_id
                st.success(f"Imported {added} labels")
