"""Evaluation: do the explanations point at the right object? The grid pointing game and a deletion curve (paper Figs. 5–7)."""

import numpy as np
import streamlit as st

from app import evaluation, figures
from app.controls import page_inputs, ranked_classes
from app.images import dataset_index
from app.state import init_widget, write_url
from bcos_core.attribution import BCOS, available_methods
from bcos_core.render import symmetric_limit

st.title("Evaluation")
st.caption(
    "The grid pointing game: nine correctly and confidently classified test images of nine different classes form a 3 × 3 grid; "
    "a map for one tile's class scores the share of its positive mass that falls on that tile (1 is perfect, 1/9 is chance)."
)
selection, smooth, percentile = page_inputs()
results = evaluation.stored_results()
if results is None:
    st.info("No stored results (assets/evaluation/localisation.json): create them with `python -m training.evaluate --localisation --out assets/evaluation/localisation.json`.")
else:
    models = results["models"]
    main = [n for n in models if "conventional" not in n and "bfamily" not in n]
    baseline = [n for n in models if "conventional" in n]
    shown = main[:1] + baseline[:1]
    titles = [f"{n} (B-cos, {100 * models[n]['test_accuracy']:.1f} %)" if n in main else f"{n} (ReLU baseline, {100 * models[n]['test_accuracy']:.1f} %)" for n in shown]
    st.subheader("Model-inherent contributions vs post-hoc methods")
    st.plotly_chart(evaluation.methods_figure(results, shown, titles), key="methods_boxes")
    table = {name: {m: e["mean"] for m, e in models[name]["methods"].items()} for name in shown}
    st.dataframe(table, column_config={n: st.column_config.NumberColumn(n, format="%.3f") for n in shown})
    family = sorted((n for n in models if "bfamily" in n), key=lambda n: models[n]["b"])
    if family:
        st.subheader("Localisation and accuracy versus B (paper Fig. 5)")
        st.plotly_chart(evaluation.b_family_figure(results, family), key="b_family_boxes")
    st.caption(
        f"Data: {results['data']}. {results['grids']} grids per model for the B-cos contributions, the first {results['posthoc_grids']} of them "
        f"for post-hoc methods (they cost 10–100× more); smoothing {results['smooth']}, seed {results['seed']}. Checkpoints: "
        + ", ".join(f"{n} (sha256 {m['checkpoint']['sha256_16']}…)" for n, m in models.items())
    )
    st.markdown(results.get("notes", ""))

st.subheader("One grid, live")
try:
    class_names, _ = dataset_index("test")
except FileNotFoundError:
    st.info("The live grid needs the CIFAR-10 test folder: point `BCOS_DATA_DIR` at the folder holding `cifar10/test`.")
else:
    grids = evaluation.live_grids(selection.model_name)
    init_widget("grid", 0, int, choices=list(range(len(grids))))
    init_widget("tile", 0, int, choices=list(range(9)))
    left, right = st.columns([1, 2])
    index = left.number_input("Grid #", 0, len(grids) - 1, key="grid", help="the same grids, in the same order, as the command-line evaluation")
    grid = grids[index]
    tile = left.selectbox("Explain the class of tile", range(9), key="tile", format_func=lambda k: f"{k}: {class_names[grid.classes[k]]} (column {k // 3}, row {k % 3})")
    methods = available_methods(selection.loaded.model)
    init_widget("methods", "B-cos contributions,Input×Gradient,Grad-CAM", str)
    chosen_default = [m for m in st.session_state["methods"].split(",") if m in methods] if isinstance(st.session_state["methods"], str) else st.session_state["methods"]
    chosen = left.multiselect("Methods", methods, default=chosen_default, key="methods_pick", help="Integrated Gradients and Occlusion take a few seconds")
    write_url(grid=index, tile=tile, methods=",".join(chosen))
    right.plotly_chart(figures.image_figure(evaluation.grid_pixels(selection.model_name, grid), f"grid {index}: tile {tile} is {class_names[grid.classes[tile]]}", height=300,
                                            box=(32 * (tile // 3), 32 * (tile % 3), 32 * (tile // 3) + 32, 32 * (tile % 3) + 32)), key="grid_image")
    columns = st.columns(max(len(chosen), 1))
    maps = {method: evaluation.live_maps(selection.model_name, grid, method) for method in chosen}
    for column, (method, (method_maps, scores)) in zip(columns, maps.items()):
        limit = symmetric_limit([method_maps[tile]])
        column.plotly_chart(figures.contribution_figure(method_maps[tile], limit, f"{method}: score {scores[tile]:.2f}", height=260), key=f"live_{method}")
        column.caption(f"mean over the 9 tiles: {np.mean(scores):.2f}")

st.subheader("Deletion curve for the sidebar's image")
st.caption("Pixels are set to black in order of decreasing attribution; a map that finds the evidence makes the logit fall fastest (smaller area is better).")
names, logits, order = ranked_classes(selection)
methods = [m for m in available_methods(selection.loaded.model) if m in (BCOS, "Input×Gradient", "Grad-CAM", "Integrated Gradients")]
curves = evaluation.deletion_curves(selection.model_name, selection.crop, order[0], tuple(methods))
st.plotly_chart(evaluation.deletion_figure(curves, names[order[0]]), key="deletion")
