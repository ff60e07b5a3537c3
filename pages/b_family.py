"""The B family (paper Fig. 4): the same image explained by the same architecture trained at different B."""

import streamlit as st

import bcos_core
from app import compute, figures
from app.controls import page_inputs
from app.state import init_widget, write_url
from bcos_core.render import symmetric_limit

st.title("B family")
st.caption("Higher B forces weights to align with their inputs: explanations become sparser and more object-like, at a small cost in accuracy (paper Tab. 1, Figs. 4–5).")
selection, smooth, percentile = page_inputs()
family = sorted((n for n in bcos_core.list_shipped_models() if n.startswith(compute.FAMILY_PREFIX)), key=lambda n: compute.get_model(n).metadata.b)
if not family:
    st.info(f"No B-family models are shipped (expected assets/models/{compute.FAMILY_PREFIX}b*.safetensors; see the README's training section).")
    st.stop()
names = compute.get_model(family[0]).class_names
init_widget("fam_cls", -1, int, choices=[-1, *range(len(names))])
target = st.selectbox("Class to explain", [-1, *range(len(names))], key="fam_cls", format_func=lambda c: "each model's prediction" if c < 0 else names[c])
write_url(fam_cls=target)

results = []
for name in family:
    loaded = compute.get_model(name)
    logits = compute.predictions(name, selection.image_id)
    cls = int(logits.argmax()) if target < 0 else target
    results.append((loaded, cls, compute.class_explanations(name, selection.image_id, (cls,), smooth, percentile)[0]))
shared = symmetric_limit([expl.contributions for _, _, expl in results])
columns = st.columns(len(results))
for column, (loaded, cls, expl) in zip(columns, results):
    meta = loaded.metadata
    with column:
        st.markdown(f"**B = {meta.b:g}** · test accuracy {meta.metrics.get('test_accuracy', float('nan')):.1%}")
        st.plotly_chart(figures.rgba_figure(expl.rgba, f"{names[cls]} (logit {expl.logit:.2f})", height=240), key=f"rgba_{meta.b}")
        st.plotly_chart(figures.contribution_figure(expl.contributions, shared, None, height=240), key=f"contrib_{meta.b}")
        st.caption(f"Σ contributions + bias = {expl.contribution_sum + expl.bias:.4f}; logit {expl.logit:.4f}")
st.caption(
    "Contribution maps share one colour scale. Accuracy: CIFAR-10 test set (JPEG copy), from each model's metadata. "
    "The shipped family was trained for only 6 short epochs each: there accuracy rises with B, unlike the paper's converged "
    "networks (93.5 % at B = 1 to 92.4 % at B = 2.5), so compare the explanations, not the accuracies."
)
