"""A ViT's attention pattern beside a neuron's exact explanation, shown as what it is: where a token reads from in one
head, one of the constant mixing matrices of W(x) in explanation mode, not an explanation of the neuron."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bcos_core.attention import attention_blocks

from . import compute, figures
from .sidebar import Selection
from .state import init_widget, write_url


def attention_beside(selection: Selection, layer: str, position: tuple[int, int]) -> None:
    """For a layer inside (or after) a transformer block: the attention of one head from the selected token."""
    blocks = attention_blocks(selection.loaded.model)
    encoder = next((b for b in reversed(blocks) if layer.startswith(b.rsplit(".", 1)[0] + ".")), None)
    if encoder is None:
        return
    pattern = compute.attention(selection.model_name, selection.image_id, encoder)
    side = int(round(np.sqrt(pattern.shape[-1])))
    init_widget("head", 0, int, choices=list(range(len(pattern))))
    st.markdown(f"#### Attention in {encoder} (not an explanation)")
    head = st.select_slider("Head", list(range(len(pattern))), key="head")
    write_url(head=head)
    token = position[0] * side + position[1]
    row = pattern[head, token].reshape(side, side)
    left, right = st.columns([1, 2])
    left.plotly_chart(figures.activation_figure(row, position, f"head {head}: where token {position} reads from"), key="attention_map")
    right.caption(
        "The attention pattern is a softmax over the tokens: it says where this token gathers values from in one head, before the "
        "values are mixed and transformed. In explanation mode it is one constant factor of W(x); what each pixel contributes to "
        "the neuron, all heads and layers together, is the contribution map above."
    )
