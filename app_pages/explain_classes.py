"""Class explanations: top-k predictions, any class explained, exactness readout, evidence for and against."""

import numpy as np
import streamlit as st

from app import compute, figures
from app.circuit_views import what_feeds_this
from app.controls import exactness_readout, page_inputs, ranked_classes
from app.pictures import show_picture
from app.state import init_widget, reset_on_change, write_url
from bcos_core.render import symmetric_limit

st.title("Class explanations")
selection, render = page_inputs()
names, logits, order = ranked_classes(selection)
init_widget("k", min(5, len(names)), int)
st.session_state["k"] = max(1, min(int(st.session_state["k"]), len(names), 10))
reset_on_change((selection.model_name, selection.image_id), "cls")  # a new image starts at its top class
init_widget("cls", order[0], int, choices=list(range(len(names))))

left, right = st.columns([2, 3])
with left:
    show_picture(figures.image_pixels(selection.original, selection.crop_box), "input (yellow: what the model sees)", key="original")
with right:
    k = st.slider("Top-k", 1, min(10, len(names)), key="k")
    top = order[:k]
    st.plotly_chart(figures.probability_bars([names[i] for i in top], 1 / (1 + np.exp(-logits[top])), highlight=0), key="bars")
    target = st.selectbox("Explain class", order, key="cls", format_func=lambda i: f"{names[i]} (logit {logits[i]:.3f})")
write_url(k=k, cls=target)

expl = compute.class_explanations(selection.model_name, selection.image_id, (target,))[0]
st.subheader(f"Why “{names[target]}”?")
exactness_readout(expl)
limit = symmetric_limit([expl.contributions])
cols = st.columns(4)
with cols[0]:
    show_picture(figures.image_pixels(selection.crop), "model input", key="crop")
with cols[1]:
    show_picture(figures.explanation_pixels(expl, render), "explanation (RGBA, paper recipe)", key="rgba")
cols[2].plotly_chart(figures.contribution_figure(expl.contributions, limit, "contribution map"), key="contrib")
cols[3].plotly_chart(figures.contribution_figure(expl.contributions, limit, "overlay", background=selection.crop), key="overlay")

with st.expander("Evidence for and against", expanded=True):
    positive, negative = np.clip(expl.contributions, 0, None), np.clip(expl.contributions, None, 0)
    a, b = st.columns(2)
    a.plotly_chart(figures.contribution_figure(positive, limit, f"for: Σ = {positive.sum():.4f}"), key="positive")
    b.plotly_chart(figures.contribution_figure(negative, limit, f"against: Σ = {negative.sum():.4f}"), key="negative")
    terms = sum(expl.constant_terms.values())
    st.caption(
        f"for + against{' + constant terms' if terms else ''} + bias = {positive.sum():.4f} + ({negative.sum():.4f})"
        + (f" + ({terms:.4f})" if terms else "")
        + f" + ({expl.bias:.4f}) = {positive.sum() + negative.sum() + terms + expl.bias:.4f} = logit {expl.logit:.4f}"
    )

st.subheader(f"All top-{k} classes")
grid = compute.class_explanations(selection.model_name, selection.image_id, tuple(top))
shared = symmetric_limit([e.contributions for e in grid])
columns = st.columns(min(k, 5))
for index, item in enumerate(grid):  # one plain image per class (explanation over its map): light for browser and server
    with columns[index % len(columns)]:
        pixels = figures.stacked_pixels([figures.explanation_pixels(item, render), figures.contribution_pixels(item.contributions, shared)])
        show_picture(pixels, f"{names[item.target]} ({item.logit:.2f})", key=f"grid_{index}")
st.caption(
    f"Contribution maps of the grid share one colour scale (±{shared:.3g}: blue against, red for), so their intensities compare directly."
)

st.subheader(f"What feeds “{names[target]}”")
st.caption(
    "In explanation mode the network above any cut layer is linear in that layer's output, so every channel's share of the logit is exact."
)
what_feeds_this(selection, ("class", target), f"logit of “{names[target]}”")
