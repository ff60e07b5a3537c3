"""Neuron gallery: per neuron, the data set's most activating images, each with the neuron's own exact explanation."""

import streamlit as st

from app.controls import page_inputs
from app.gallery import concept_labels, open_gallery
from app.gallery_views import label_file_controls, neuron_grid, neuron_page
from app.state import init_widget, write_url
from bcos_core.neuron_index import NeuronIndexError

st.title("Neuron gallery")
st.caption(
    "What does a neuron encode? Its top images from the data set, each cropped to the neuron's receptive field and explained exactly "
    "(paper Fig. 10). Name what you see: your labels stay with you (export them as JSON) unless the server shares them."
)
selection, render = page_inputs()
try:
    gallery = open_gallery(selection.model_name)
except NeuronIndexError as error:
    st.info(str(error))
    st.stop()
if gallery.data_problem:
    st.warning(
        f"Images unavailable: {gallery.data_problem}. Statistics are still listed. Point `BCOS_DATA_DIR` at the folder holding "
        f"`{gallery.index.header['dataset']['folder']}`, or (with internet) download CIFAR-10 with `python -m bcos_core.datasets "
        "download-cifar10 DIR`, "
        "set `BCOS_DATA_DIR=DIR` and build an index for those images with `python -m bcos_core.neuron_index build`."
    )
layers = list(gallery.index.layers)
init_widget("g_layer", layers[len(layers) // 2], str, choices=layers)
init_widget("neuron", -1, int)
layer = st.selectbox("Layer", layers, key="g_layer", format_func=lambda name: f"{name} ({gallery.index.layers[name].channels} channels)")
channel = int(st.session_state["neuron"])
if not -1 <= channel < gallery.index.layers[layer].channels:
    channel = -1
write_url(g_layer=layer, neuron=channel)
label_file_controls(gallery)
labels = concept_labels(gallery)
if channel < 0:
    neuron_grid(selection, gallery, layer, labels)
else:
    neuron_page(selection, gallery, layer, channel, labels, render)
