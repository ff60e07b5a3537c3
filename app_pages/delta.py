"""Δ-explanations (paper Fig. 9): what distinguishes class 1 from class 2, summing exactly to the logit gap."""

import numpy as np
import streamlit as st

from app import compute, figures
from app.controls import exactness_readout, page_inputs, ranked_classes
from app.images import short_name
from app.pictures import show_picture
from app.sidebar import show_image
from app.state import init_widget, reset_on_change, set_for_context, write_url
from bcos_core.render import symmetric_limit


def show_pair(model_name: str, image_id: str, first: int, second: int) -> None:
    """Button callback: open an uncertain test image with exactly the pair its button names."""
    show_image(image_id)
    set_for_context((model_name, image_id), c1=first, c2=second)


st.title("Δ-explanations")
st.caption(
    "The Δ map is W_c1(x)·x − W_c2(x)·x per pixel: orange pixels argue for class 1, blue ones for class 2, and the map sums exactly to "
    "the logit gap."
)
selection, render = page_inputs()
names, logits, order = ranked_classes(selection)
reset_on_change((selection.model_name, selection.image_id), "c1", "c2")  # a new image starts at its top two classes
init_widget("c1", order[0], int, choices=list(range(len(names))))
init_widget("c2", order[1], int, choices=list(range(len(names))))
label = lambda i: f"{names[i]} (logit {logits[i]:.3f})"  # noqa: E731
a, b = st.columns(2)
class_1 = a.selectbox("Class 1 (orange)", order, key="c1", format_func=label)
class_2 = b.selectbox("Class 2 (blue)", order, key="c2", format_func=label)
write_url(c1=class_1, c2=class_2)

if class_1 == class_2:
    st.warning("Pick two different classes.")
    st.stop()

first, second, delta = compute.pair_explanations(selection.model_name, selection.image_id, class_1, class_2)
exactness_readout(delta, label="logit gap")
shared = symmetric_limit([first.contributions, second.contributions])
cols = st.columns(4)
with cols[0]:
    show_picture(figures.image_pixels(selection.crop), "model input", key="crop")
cols[1].plotly_chart(figures.contribution_figure(first.contributions, shared, f"{names[class_1]}"), key="first")
cols[2].plotly_chart(figures.contribution_figure(second.contributions, shared, f"{names[class_2]}"), key="second")
cols[3].plotly_chart(
    figures.contribution_figure(
        delta.contributions,
        symmetric_limit([delta.contributions]),
        f"Δ {names[class_1]} − {names[class_2]}",
        delta_labels=(names[class_1], names[class_2]),
    ),
    key="delta",
)
r = st.columns(4)
rgba_views = ((first, f"{names[class_1]} (RGBA)", "first_rgba"), (second, f"{names[class_2]} (RGBA)", "second_rgba"))
for column, (expl, title, key) in zip(r[1:], (*rgba_views, (delta, "Δ (RGBA, class 1 evidence)", "delta_rgba"))):
    with column:
        show_picture(figures.explanation_pixels(expl, render), title, key=key)

with st.expander("Most uncertain test images (smallest top-1 / top-2 margin)"):
    try:
        ids, labels, all_logits = compute.dataset_predictions(selection.model_name)
    except FileNotFoundError as error:
        st.info(f"No data set configured ({error}).")
    else:
        top2 = np.sort(all_logits, axis=1)[:, -2:]
        margins = top2[:, 1] - top2[:, 0]
        for rank, index in enumerate(np.argsort(margins)[:10]):
            best, second_best = np.argsort(-all_logits[index])[:2]
            text = (
                f"{short_name(ids[index])}: {names[best]} vs {names[second_best]} (margin {margins[index]:.3f}, true "
                f"{names[labels[index]]})"
            )
            st.button(
                text, key=f"uncertain_{rank}", on_click=show_pair, args=(selection.model_name, ids[index], int(best), int(second_best))
            )
