"""Neuron explorer: any channel of any layer, at any position, explained exactly and cropped to its receptive field."""

import numpy as np
import streamlit as st

from app import compute, figures
from app.attention_views import attention_beside
from app.controls import exactness_readout, page_inputs
from app.gallery import indexed_layers
from app.pictures import show_picture
from app.state import init_widget, url_value, write_url
from bcos_core.layers import explorable_layers
from bcos_core.render import symmetric_limit

st.title("Neuron explorer")
st.caption(
    "Every intermediate neuron of a B-cos network is a dynamic-linear function of the input, so it has an exact explanation too. "
    "Negative activations are explained with flipped sign, as in the paper."
)
selection, render = page_inputs()
layers, indexed = explorable_layers(selection.loaded.model), indexed_layers(selection.model_name)
init_widget("layer", layers[len(layers) // 2], str, choices=layers)
layer = st.selectbox(
    "Layer", layers, key="layer", format_func=lambda name: name if name in indexed else f"{name} (not in the neuron index)"
)
acts = compute.activations(selection.model_name, selection.image_id, layer)
if acts.ndim != 3:
    st.warning(f"Layer {layer} has no spatial map (shape {acts.shape}).")
    st.stop()
maxima = acts.reshape(len(acts), -1).max(1)
ranked = [int(c) for c in np.argsort(-maxima)]
init_widget("ch", ranked[0], int, choices=ranked)
channel = st.selectbox(
    "Channel (ranked by its maximum activation on this image)", ranked, key="ch", format_func=lambda c: f"#{c} (max {maxima[c]:.3g})"
)

channel_map = acts[channel]
default_position = tuple(int(i) for i in np.unravel_index(channel_map.argmax(), channel_map.shape))
if st.session_state.get("_pos_for") == (layer, channel):
    row, col = st.session_state["_row"], st.session_state["_col"]
elif "_pos_for" in st.session_state:  # the user picked another layer or channel: start at its maximum
    row, col = default_position
else:  # a fresh session: the position from the URL
    row, col = url_value("row", default_position[0]), url_value("col", default_position[1])
if not (0 <= row < channel_map.shape[0] and 0 <= col < channel_map.shape[1]):
    row, col = default_position
chart_key = f"act_{layer.replace('.', '_')}_{channel}"  # a CSS class name: no dots


def remember_click() -> None:
    """Chart callback: a click on a cell moves the position (runs before the page, so the figure shows it at once)."""
    points = st.session_state[chart_key].selection.points
    if points:  # an empty selection (a second click on the same cell, a redraw) keeps the position
        st.session_state.update(_pos_for=(layer, channel), _row=int(points[0]["y"]), _col=int(points[0]["x"]))


left, right = st.columns(2)
with left:
    st.plotly_chart(
        figures.activation_figure(channel_map, (row, col), f"activation map of channel {channel} (click a cell)"),
        key=chart_key,
        on_select=remember_click,
        selection_mode="points",
    )
    st.button(
        "Position of the maximum",
        key="reset_position",
        on_click=lambda: st.session_state.update(_pos_for=(layer, channel), _row=default_position[0], _col=default_position[1]),
    )
st.session_state.update(_pos_for=(layer, channel), _row=row, _col=col)
write_url(layer=layer, ch=channel, row=row, col=col)

expl = compute.neuron_explanation(selection.model_name, selection.image_id, layer, channel, (row, col))
with right:
    st.markdown(
        f"**{layer}[{channel}] at (row {row}, col {col})**: activation {expl.activation:.5f}"
        + (" (negative: explanation sign-flipped)" if expl.activation < 0 else "")
    )
    top, left_edge, bottom, right_edge = expl.receptive_field
    st.caption(f"receptive field: rows {top}–{bottom - 1}, columns {left_edge}–{right_edge - 1} of the {selection.crop.shape[0]} px input")
exactness_readout(expl, label="|activation|")
if layer in indexed:
    st.page_link(
        "app_pages/neuron_gallery.py",
        label=f"Top images of {layer}[{channel}] in the data set (neuron gallery)",
        icon=":material/photo_library:",
        query_params={"model": selection.model_name, "image": selection.image_id, "g_layer": layer, "neuron": channel},
    )
else:
    st.caption(
        f"{selection.model_name} has no neuron index with {layer}, so there is no gallery of its top images (build one with `python -m "
        f"bcos_core.neuron_index build --model {selection.model_name}`)."
    )
crop = (slice(top, bottom), slice(left_edge, right_edge)) if bottom > top else (slice(None), slice(None))
limit = symmetric_limit([expl.contributions[crop]])
cols = st.columns(3)
with cols[0]:
    show_picture(figures.image_pixels(selection.crop[crop]), "receptive field", key="rf")
with cols[1]:
    show_picture(figures.explanation_pixels(expl, render, crop=crop), "explanation (RGBA)", key="neuron_rgba")
cols[2].plotly_chart(figures.contribution_figure(expl.contributions[crop], limit, "contributions"), key="neuron_contrib")
attention_beside(selection, layer, (row, col))
