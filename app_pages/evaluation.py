"""Evaluation: do the explanations point at the right object? The grid pointing game and a deletion curve (paper Figs. 5–7)."""

import streamlit as st

from app.controls import page_inputs
from app.evaluation_views import deletion_section, live_grid_section, quality_section, stored_results_section

st.title("Evaluation")
st.caption(
    "The grid pointing game: nine correctly and confidently classified test images of nine different classes form a 3 × 3 grid; "
    "a map for one tile's class scores the share of its positive mass that falls on that tile (1 is perfect, 1/9 is chance)."
)
selection, _ = page_inputs()
stored_results_section()
quality_section()
st.subheader("One grid, live")
live_grid_section(selection)
st.subheader("Deletion curve for the sidebar's image")
st.caption(
    "Pixels take the image's mean colour, most relevant first (solid) or least relevant first (dashed). A map that ranks the evidence "
    "well makes the solid curve fall fast and the dashed one slowly: the gap between their areas is its score."
)
deletion_section(selection)
