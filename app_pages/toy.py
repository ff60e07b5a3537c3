"""The B dial: the 2D toy of the paper's Fig. 2, with a client-side B sweep, θ*(B) and live gradient descent."""

from dataclasses import asdict, fields

import streamlit as st

from app.state import init_widget, is_hidden, teacher_mode, write_url
from app.toy_figures import B_SWEEP, ToySettings, optimum_figure, sweep_figure, training_figure

PRESETS = {
    "paper": ToySettings(),
    "close clusters": ToySettings(blue_x=0.6, blue_y=0.8, spread=0.08),
    "wide spread": ToySettings(spread=0.2, size=25),
}


@st.cache_data(show_spinner=False, max_entries=32)
def cached_sweep(settings: ToySettings, b: float):
    return sweep_figure(settings, b)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_optimum(settings: ToySettings):
    return optimum_figure(settings)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_training(settings: ToySettings, b: float, theta0: float, lr: float):
    return training_figure(settings, b, theta0, lr)


def problem_controls() -> ToySettings:
    """Preset plus editable cluster centres, spread, size and seed (each mirrored into the URL)."""
    init_widget("preset", "paper", str, choices=list(PRESETS))
    base = PRESETS[st.session_state["preset"]]
    for field in fields(ToySettings):
        init_widget(field.name, getattr(base, field.name), (lambda v: v in ("True", "true", "1")) if field.type in (bool, "bool") else None)
    if not is_hidden("problem"):
        with st.sidebar:
            st.selectbox("Preset", list(PRESETS), key="preset", on_change=_apply_preset)
            st.markdown("**Red cluster (shared)**")
            a, b = st.columns(2)
            a.number_input("centre x", -1.5, 1.5, key="red_x", step=0.05)
            b.number_input("centre y", -1.5, 1.5, key="red_y", step=0.05)
            st.markdown("**Blue cluster of problem A** (B's blue cluster mirrors the red one)")
            a, b = st.columns(2)
            a.number_input("centre x ", -1.5, 1.5, key="blue_x", step=0.05)
            b.number_input("centre y ", -1.5, 1.5, key="blue_y", step=0.05)
            st.checkbox("normalise the blue centre to unit length (paper)", key="normalise_blue")
            st.slider("spread (std)", 0.0, 0.5, key="spread", step=0.01)
            st.slider("points per cluster", 1, 100, key="size")
            st.number_input("seed", 0, 10_000, key="seed")
    settings = ToySettings(**{f.name: type(getattr(ToySettings(), f.name))(st.session_state[f.name]) for f in fields(ToySettings)})
    write_url(preset=st.session_state["preset"], **asdict(settings))
    return settings


def _apply_preset() -> None:
    for name, value in asdict(PRESETS[st.session_state["preset"]]).items():
        st.session_state[name] = value


st.title("The B dial: alignment in 2D")
st.markdown(
    "One B-cos unit with weight **w** = (cos θ, sin θ) separates the red class from the blue one, trained with BCE. "
    "At **B = 1** it is a linear classifier: the best w is the difference of the class means, so it depends on the blue cluster "
    "and the two problems disagree. As **B** grows the unit is rewarded only where w is *aligned* with the red points, and both "
    "problems' optimal weights rotate onto the red cluster. The red shading is the unit's positive output."
)
settings = problem_controls()
init_widget("B", 2.0, float, choices=list(B_SWEEP))
b = (
    st.select_slider("B (server-side: sets the starting frame; the slider under the plot moves instantly in the browser)", B_SWEEP, key="B")
    if not is_hidden("B")
    else st.session_state["B"]
)
write_url(B=b)
st.plotly_chart(cached_sweep(settings, b), key="sweep")
st.caption(
    "Why every loss curve hugs ln 2 ≈ 0.693 (dotted): one unit's output |cos|^(B−1)·ŵᵀx is small, so the sigmoid stays near ½ and the "
    "loss moves only in the third decimal; what matters is where its minimum lies."
)

st.subheader("Optimal angle θ*(B)")
st.plotly_chart(cached_optimum(settings), key="optimum")

st.subheader("Train live")
st.caption(
    "Gradient descent on θ from a starting angle: ▶ play, ❚❚ pause, the slider steps, ⟲ resets. With large B and a start far from the "
    "data the gradient almost vanishes: |cos|^B is flat there."
)
init_widget("theta0", 10.0, float)
init_widget("lr", 0.5, float)
if not is_hidden("train"):
    a, c = st.columns(2)
    a.slider("start angle θ₀ (degrees)", 0.0, 180.0, key="theta0", step=1.0)
    c.slider("learning rate", 0.05, 2.0, key="lr", step=0.05)
write_url(theta0=st.session_state["theta0"], lr=st.session_state["lr"])
st.plotly_chart(cached_training(settings, b, float(st.session_state["theta0"]), float(st.session_state["lr"])), key="training")
if teacher_mode():
    st.caption("Teacher mode: some controls are hidden by the link.")
