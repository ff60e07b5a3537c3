"""Small reusable controls and readouts shared by the pages."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bcos_core.registry import dataset_smoothing
from bcos_core.render import BACKGROUNDS

from . import compute
from .pipeline import ExplainedMap, RenderOptions
from .sidebar import Selection, sidebar
from .state import init_widget, is_hidden, reset_on_change, write_url

SMOOTHING = [1, 3, 5, 7, 9, 11, 15]


def explanation_options(dataset: str) -> RenderOptions:
    """The rendering options, from the URL and the sidebar's expander; smoothing starts at the paper's value for the
    model's data set (``registry.toml``: 3 px on CIFAR-10, 15 px on ImageNet) and returns to it when that changes."""
    reset_on_change((dataset,), "smooth")
    init_widget("smooth", dataset_smoothing(dataset), int, choices=SMOOTHING)
    init_widget("pct", 99.5, float)
    init_widget("bg", "black", str, choices=list(BACKGROUNDS))
    if not is_hidden("options"):
        with st.sidebar.expander("Rendering options"):
            st.select_slider(
                "Smoothing (odd box, px)",
                SMOOTHING,
                key="smooth",
                help="The paper uses 15 px on 224 px ImageNet images; small CIFAR images need little",
            )
            st.slider("Alpha percentile", 90.0, 100.0, key="pct", step=0.5, help="Opacity is clipped at this percentile of the weight norm")
            st.radio(
                "Explanation background", list(BACKGROUNDS), key="bg", horizontal=True, help="The paper draws RGBA explanations on black"
            )
    write_url(smooth=st.session_state["smooth"], pct=st.session_state["pct"], bg=st.session_state["bg"])
    return RenderOptions(int(st.session_state["smooth"]), float(st.session_state["pct"]), str(st.session_state["bg"]))


def exactness_readout(expl: ExplainedMap, label: str = "logit") -> None:
    """Σ contributions (+ constant terms such as a ViT's positional embedding) + bias next to the model's own output: the
    exactness certificate of a B-cos explanation."""
    error = abs(expl.explained - expl.logit)
    cols = st.columns(4 + len(expl.constant_terms))
    cols[0].metric("Σ contributions", f"{expl.contribution_sum:.5f}")
    for col, (name, value) in zip(cols[1:], expl.constant_terms.items()):
        col.metric(f"+ {name}", f"{value:.5f}", help="an input-independent term the model adds; its exact share of the output")
    cols[-3].metric("+ bias", f"{expl.bias:.5f}")
    cols[-2].metric("= explained", f"{expl.explained:.5f}")
    cols[-1].metric(f"model's {label}", f"{expl.logit:.5f}", delta=f"error {error:.1e}", delta_color="off")


def page_inputs() -> tuple[Selection, RenderOptions]:
    """The sidebar's model and image plus the rendering options; stops the page (message shown) when unusable."""
    selection = sidebar()
    if selection is None:
        st.stop()
    return selection, explanation_options(selection.loaded.metadata.dataset)


def ranked_classes(selection: Selection) -> tuple[list[str], np.ndarray, list[int]]:
    """(class names, logits, class indices from the highest logit down) for the selected image."""
    logits = compute.predictions(selection.model_name, selection.image_id)
    return selection.loaded.class_names, logits, [int(i) for i in np.argsort(-logits)]
