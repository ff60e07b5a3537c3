"""Widgets of the evaluation page: stored pointing-game results, one live grid, and a deletion curve."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bcos_core.attribution import BCOS, available_methods
from bcos_core.render import symmetric_limit

from . import evaluation, figures
from .controls import ranked_classes
from .images import dataset_index
from .pictures import show_picture
from .sidebar import Selection
from .state import init_widget, write_url

LIVE_DEFAULT = [BCOS, "Input×Gradient", "Grad-CAM"]
DELETION_METHODS = (BCOS, "Input×Gradient", "Integrated Gradients", "Grad-CAM")


def stored_results_section() -> None:
    """Box plots of the shipped results, the B-family figure, what was measured on what, and computed findings."""
    results = evaluation.stored_results()
    if results is None:
        st.info(
            "No stored results (assets/evaluation/localisation.json): create them with `python -m training.evaluate --localisation "
            "--out assets/evaluation/localisation.json`."
        )
        return
    models = results["models"]
    main, baselines, _ = evaluation.model_groups(results)
    main = main[:1]
    shown = main + baselines[:1]
    titles = [f"{n} ({'B-cos' if n in main else 'ReLU baseline'}, {100 * models[n]['test_accuracy']:.1f} %)" for n in shown]
    st.subheader("Model-inherent contributions vs post-hoc methods")
    st.plotly_chart(evaluation.methods_figure(results, shown, titles), key="methods_boxes")
    st.dataframe(
        {n: mean_scores(models[n], results["posthoc_grids"]) for n in shown},
        column_config={n: st.column_config.NumberColumn(f"{n}: mean score", format="%.3f") for n in shown},
    )
    for line in evaluation.findings(results):
        st.markdown(f"- {line}")
    st.caption(
        f"Data: {results['data']}. {results['grids']} grids per model for the B-cos contributions, the first {results['posthoc_grids']} "
        "of them "
        f"for post-hoc methods (they cost 2–40× more); smoothing {results['smooth']}, seed {results['seed']}. Checkpoints: "
        + ", ".join(f"{n} (sha256 {m['checkpoint']['sha256_16']}…)" for n, m in models.items())
    )


def quality_section(names: list[str] | None = None) -> None:
    """The stored explanation-quality table (all stored models, or ``names``) and the explanation sheet."""
    results = evaluation.stored_quality()
    if results is None:
        st.info(
            "No stored quality results (assets/evaluation/quality.json): create them with `python -m training.evaluate --quality --out "
            "assets/evaluation/quality.json --sheet assets/evaluation/explanation_sheet.png`."
        )
        return
    rows = evaluation.quality_rows(results, names or list(results["models"]))
    if not rows:
        return
    st.subheader("Explanation quality")
    family = evaluation.model_groups(results)[2]
    family = [n for n in family if n in (names or family)]
    if len(family) > 1:
        st.subheader("Localisation, alignment and accuracy versus B (paper Fig. 5)")
        st.plotly_chart(evaluation.b_family_figure(results, family), key="b_family_boxes")
        for line in evaluation.family_findings(results, family):
            st.markdown(f"- {line}")
    st.dataframe(
        rows, hide_index=True, column_config={k: st.column_config.NumberColumn(format="%.3f") for k in rows[0] if k not in ("model", "B")}
    )
    shown = [row["model"] for row in rows]
    for key, figure, caption in (
        (
            "alignment_by_layer",
            evaluation.alignment_by_layer_figure(results, shown),
            "**Alignment by depth**: the same cosine at the output of every layer that cuts the network in two, between that "
            "output and the map from it to the logit.",
        ),
        (
            "localisation_mass",
            evaluation.localisation_mass_figure(results, shown),
            "**Where the maps' mass lies**: of each tile's map, the share on its own tile (the localisation score), on the tiles "
            "touching it (mass bleeding over the borders) and farther away (mass on other objects).",
        ),
        (
            "localisation_by_rank",
            evaluation.localisation_by_rank_figure(results, shown),
            "**Localisation by confidence**: the mean score of each block of grids, in the order they are drawn (each class's most "
            "confident test images first): whether a mean was lowered by the less confident images or by all of them.",
        ),
    ):
        if figure is not None:  # None where no shown model was measured with it
            st.markdown(caption)
            st.plotly_chart(figure, key=key)
    sheet = evaluation.QUALITY_PATH.parent / (results["sheet"]["path"] or "")
    if results["sheet"]["path"] and sheet.exists():
        st.image(
            str(sheet),
            caption=(
                "The same 20 test images (the first two of each class), each model's explanation of its predicted class; red frame: "
                "wrong prediction."
            ),
        )
    st.caption(
        f"Data: {results['data']}. Localisation: mean score of the B-cos contributions on up to {results['grids']} 3 × 3 grids at each "
        "smoothing "
        "(fewer where fewer test images are confidently correct) "
        "(the paper smooths CIFAR-10 maps with a 3 × 3 box; v2's scripts use 1). Alignment: mean cosine between the predicted class's W(x) "
        "and the 6-channel input over the whole test set. Colour error: how far the drawn explanation's colours are from the image's "
        "(0: its own colours); roughness ratio: how much more the explanation's colour changes from pixel to pixel than the image's "
        "(1: as smooth; stripes ≫ 1), on test images spread over the classes."
    )


def mean_scores(model: dict, posthoc_grids: int) -> dict[str, float]:
    """Each method's mean score, plus the contributions' mean on the grids the post-hoc methods saw (paired)."""
    means = {method: entry["mean"] for method, entry in model["methods"].items()}
    paired = model["methods"].get(BCOS, {}).get("mean_on_posthoc_grids")
    if paired is not None:
        means[f"{BCOS} (first {posthoc_grids} grids)"] = paired
    return means


def live_grid_section(selection: Selection) -> None:
    """One pointing-game grid of the sidebar's model: every chosen method's map for one tile's class, with scores."""
    if selection.loaded.metadata.dataset != "cifar10":
        st.info("The live pointing game uses 3×3 grids of CIFAR-10 test images: choose a CIFAR-10 model.")
        return
    try:
        class_names, _ = dataset_index("cifar10")
    except FileNotFoundError:
        st.info("The live grid needs the CIFAR-10 test folder: point `BCOS_DATA_DIR` at the folder holding `cifar10/test`.")
        return
    grids = evaluation.live_grids(selection.model_name)
    methods = available_methods(selection.loaded.model)
    init_widget("grid", 0, int, choices=list(range(len(grids))))
    init_widget("tile", 0, int, choices=list(range(9)))
    init_widget("methods", [m for m in LIVE_DEFAULT if m in methods], lambda text: [m for m in text.split(",") if m in methods])
    left, right = st.columns([1, 2])
    index = left.number_input(
        "Grid #", 0, len(grids) - 1, key="grid", help="the same grids, in the same order, as the command-line evaluation"
    )
    grid = grids[index]
    tile = left.selectbox(
        "Explain the class of tile",
        range(9),
        key="tile",
        format_func=lambda k: f"{k}: {class_names[grid.classes[k]]} (column {k // 3}, row {k % 3})",
    )
    chosen = left.multiselect("Methods", methods, key="methods", help="Integrated Gradients and Occlusion take a few seconds")
    write_url(grid=index, tile=tile, methods=",".join(chosen))
    column, row = divmod(tile, 3)
    tile_box = (32 * column, 32 * row, 32 * (column + 1), 32 * (row + 1))
    with right:
        show_picture(
            figures.image_pixels(evaluation.grid_pixels(selection.model_name, grid), tile_box),
            f"grid {index}: tile {tile} is {class_names[grid.classes[tile]]}",
            key="grid_image",
        )
    for place, method in zip(st.columns(max(len(chosen), 1)), chosen):
        maps, scores = evaluation.live_maps(selection.model_name, grid, method)
        place.plotly_chart(
            figures.contribution_figure(maps[tile], symmetric_limit([maps[tile]]), f"{method}: score {scores[tile]:.2f}", height=260),
            key=f"live_{method}",
        )
        place.caption(f"mean over the 9 tiles: {np.mean(scores):.2f}")


def deletion_section(selection: Selection) -> None:
    """Deletion curves of the predicted class on the sidebar's image."""
    names, _, order = ranked_classes(selection)
    methods = tuple(m for m in DELETION_METHODS if m in available_methods(selection.loaded.model))
    curves = evaluation.deletion_curves(selection.model_name, selection.crop, order[0], methods)
    st.plotly_chart(evaluation.deletion_figure(curves, names[order[0]]), key="deletion")
    gaps = evaluation.deletion_gaps(curves)
    best = max(gaps, key=gaps.get)
    st.caption(
        f"Largest gap on this image: {best} ({gaps[best]:.2f}). Why not simply compare with the random order? Removing pixels "
        "scattered at random already destroys the image's texture, so its logit falls fast whatever a map says; the gap "
        "between a map's own two orders does not depend on that damage (Hooker et al. 2019, Rong et al. 2022)."
    )
