"""The B family (paper Fig. 4): the same image explained by the same architecture trained at different B, and beside
them any other model of the same data set (the default CNN, the ViT)."""

import re

import streamlit as st

from app import compute, figures
from app.controls import page_inputs
from app.evaluation_views import quality_section
from app.pictures import show_picture
from app.state import init_widget, write_url
from bcos_core.registry import architecture_variants, b_family, get_entry, list_models
from bcos_core.render import symmetric_limit

st.title("B family")
st.caption(
    "Higher B forces weights to align with their inputs: explanations become sparser and more object-like, at a small cost in accuracy "
    "(paper Tab. 1, Figs. 4–5)."
)
selection, render = page_inputs()
family = [name for name in b_family() if get_entry(name).weights_path.exists()]
if not family:
    st.info(
        "No B-family models here (registry.toml tags them `b_family`; their weights come with a checkout, see the README's training "
        "section)."
    )
    st.stop()
budgets: dict[str, list[str]] = {}
for name in family:
    budgets.setdefault(compute.get_model(name).metadata.training_budget or "training not recorded", []).append(name)
differences = [group for groups in (architecture_variants(family), budgets) if len(groups) > 1 for group in groups.items()]
if differences:
    listed = [f"B = {', '.join(f'{get_entry(name).b:g}' for name in names)}: {what}" for what, names in differences]
    st.warning(
        "These members differ in more than B (the family is being retrained one member at a time), so differences between "
        "them are not B's alone: " + "; ".join(listed)
    )
names = compute.get_model(family[0]).class_names
init_widget("fam_cls", -1, int, choices=[-1, *range(len(names))])
target = st.selectbox(
    "Class to explain", [-1, *range(len(names))], key="fam_cls", format_func=lambda c: "each model's prediction" if c < 0 else names[c]
)
dataset = get_entry(family[0]).dataset
others = [n for n in list_models() if n not in family and get_entry(n).dataset == dataset and get_entry(n).location != "download"]
init_widget("compare", [], lambda text: [name for name in text.split(",") if name])
st.session_state["compare"] = [name for name in st.session_state["compare"] if name in others]
compared = st.multiselect("Compare with", others, key="compare", help="Other models of the same data set, explained the same way")
write_url(fam_cls=target, compare=",".join(compared))

results = []
for name in [*family, *compared]:
    loaded = compute.get_model(name)
    logits = compute.predictions(name, selection.image_id)
    cls = int(logits.argmax()) if target < 0 else target
    results.append((loaded, cls, compute.class_explanations(name, selection.image_id, (cls,))[0]))
crop, _, _ = compute.model_input(family[0], selection.image_id)
columns = st.columns(len(results) + 1)
with columns[0]:
    st.markdown("**input**")
    show_picture(figures.image_pixels(crop), "what the models see", key="fam_input")
for column, (loaded, cls, expl) in zip(columns[1:], results):
    meta = loaded.metadata
    member = loaded.name in family
    key = f"b{meta.b:g}".replace(".", "_") if member else re.sub(r"\W", "_", loaded.name)
    with column:
        heading = f"**B = {meta.b:g}**" if member else f"**{loaded.name}** (B = {meta.b:g})"
        st.markdown(f"{heading} · test accuracy {meta.metrics.get('test_accuracy', float('nan')):.1%}")
        show_picture(figures.explanation_pixels(expl, render), f"{names[cls]} (logit {expl.logit:.2f})", key=f"rgba_{key}")
        own_limit = symmetric_limit([expl.contributions])
        st.plotly_chart(figures.contribution_figure(expl.contributions, own_limit, None, height=240), key=f"contrib_{key}")
        st.caption(expl.readout_text())
st.caption(
    "Each explanation uses its own opacity scale and each contribution map its own colour limits (the colour bar says which): "
    "the models' logits differ in size, and a shared scale would leave the sharper, higher-B maps almost white."
)
quality_section([*family, *compared])
