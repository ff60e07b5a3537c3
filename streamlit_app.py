"""B-cos Explorer dashboard: ``streamlit run streamlit_app.py``."""

import streamlit as st

from app.errors import run_page
from app.pictures import PIXELATED_CSS
from app.state import keep_teacher_mode

st.set_page_config(page_title="B-cos Explorer", page_icon=":material/image_search:", layout="wide")

# the page files live in app_pages/, not pages/: Streamlit auto-discovers a pages/ folder on a fresh server
PAGES = [
    st.Page("app_pages/explain_classes.py", title="Class explanations", icon=":material/image_search:", default=True),  # served at "/"
    st.Page("app_pages/delta.py", title="Δ-explanations", icon=":material/compare:", url_path="delta"),
    st.Page("app_pages/neurons.py", title="Neuron explorer", icon=":material/neurology:", url_path="neurons"),
    st.Page("app_pages/neuron_gallery.py", title="Neuron gallery", icon=":material/photo_library:", url_path="gallery"),
    st.Page("app_pages/b_family.py", title="B family", icon=":material/tune:", url_path="b_family"),
    st.Page("app_pages/evaluation.py", title="Evaluation", icon=":material/analytics:", url_path="evaluation"),
    st.Page("app_pages/toy.py", title="The B dial (toy)", icon=":material/school:", url_path="toy"),
]

st.html(PIXELATED_CSS)  # pictures enlarge with square pixels, as computed
page = st.navigation(PAGES)
keep_teacher_mode()
run_page(page)
