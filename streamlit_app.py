"""B-cos Explorer dashboard: ``streamlit run streamlit_app.py``."""

import streamlit as st

st.set_page_config(page_title="B-cos Explorer", page_icon="🔍", layout="wide")

PAGES = [
    st.Page("pages/explain_classes.py", title="Class explanations", icon="🖼️", default=True),  # served at "/"
    st.Page("pages/delta.py", title="Δ-explanations", icon="⚖️", url_path="delta"),
    st.Page("pages/neurons.py", title="Neuron explorer", icon="🧠", url_path="neurons"),
    st.Page("pages/neuron_gallery.py", title="Neuron gallery", icon="🗂️", url_path="gallery"),
    st.Page("pages/b_family.py", title="B family", icon="🎚️", url_path="b_family"),
    st.Page("pages/evaluation.py", title="Evaluation", icon="🎯", url_path="evaluation"),
    st.Page("pages/toy.py", title="The B dial (toy)", icon="🧭", url_path="toy"),
]

st.navigation(PAGES).run()
