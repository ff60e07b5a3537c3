"""Figures of the Fig. 2 toy (shared by the Streamlit page and the Gradio tab).

The B sweep is precomputed into Plotly animation frames, so moving the B slider redraws on the client
without a server round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bcos_core.toy import DEFAULT_THETAS_DEG, ToyProblem, activation_map, descent_trajectory, loss_curve, make_problem, optimal_angle

B_SWEEP = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0)
PLANE = np.linspace(-1.3, 1.3, 41)
CURVE_STRIDE = 5  # plot the loss at every 0.5°: the optimum itself is found on the full 0.1° grid
RED, BLUE = "#d62728", "#1f77b4"
LN2 = float(np.log(2))  # BCE of an output near 0: one unit's output |cos|^(B−1)·ŵᵀx is small, so every loss stays near ln 2
OPTIMUM_TICKS = (1, 1.5, 2, 3, 5, 10, 20, 50)
SHADING = [[0, "rgba(214,39,40,0)"], [1, "rgba(214,39,40,0.75)"]]


@dataclass(frozen=True)
class ToySettings:
    """Everything that defines the two problems (all of it goes into the URL)."""

    red_x: float = 0.25
    red_y: float = 1.0
    blue_x: float = 0.85
    blue_y: float = 0.25
    normalise_blue: bool = True
    spread: float = 0.05
    size: int = 10
    seed: int = 0

    def problems(self) -> tuple[ToyProblem, ToyProblem]:
        blue = np.array([self.blue_x, self.blue_y])
        if self.normalise_blue:
            blue = blue / max(float(np.linalg.norm(blue)), 1e-12)
        common = dict(red_centre=(self.red_x, self.red_y), spread=self.spread, size=self.size, seed=self.seed)
        return make_problem("A", blue_centre=tuple(blue), **common), make_problem("B", **common)


def _arrow(theta: float, color: str, name: str, showlegend: bool = False) -> go.Scatter:
    w = (np.cos(np.radians(theta)), np.sin(np.radians(theta)))
    return go.Scatter(
        x=[0, w[0]],
        y=[0, w[1]],
        mode="lines+markers",
        line=dict(color=color, width=3),
        name=name,
        showlegend=showlegend,
        marker=dict(symbol=["circle", "arrow"], size=[4, 14], angleref="previous", color=color),
        hovertemplate=f"{name}: θ = {theta:.1f}°<extra></extra>",
    )


def _frame_traces(problems: tuple[ToyProblem, ToyProblem], b: float) -> list[go.BaseTraceType]:
    """Per B: for each problem the shading, the optimal-weight arrow, the loss curve and its minimum."""
    traces = []
    for problem in problems:
        theta = optimal_angle(problem, b)
        shading = np.clip(activation_map(theta, b, PLANE, PLANE), 0, None)
        percent = np.round(100 * shading / max(float(shading.max()), 1e-12)).astype(np.uint8)  # 1 byte per cell in the JSON
        traces.append(go.Heatmap(x=PLANE, y=PLANE, z=percent, colorscale=SHADING, showscale=False, hoverinfo="skip", zmin=0, zmax=100))
        traces.append(_arrow(theta, "black", f"w* (problem {problem.name})"))
    for problem in problems:
        curve = loss_curve(problem, b)
        best = int(np.argmin(curve))
        traces.append(
            go.Scatter(
                x=DEFAULT_THETAS_DEG[::CURVE_STRIDE].astype(np.float32),
                y=curve[::CURVE_STRIDE].astype(np.float32),
                mode="lines",
                line=dict(color="black"),
                showlegend=False,
                hovertemplate="θ=%{x:.1f}° loss=%{y:.6f}<extra></extra>",
            )
        )
        traces.append(
            go.Scatter(
                x=[DEFAULT_THETAS_DEG[best]],
                y=[curve[best]],
                mode="markers+text",
                marker=dict(color="orange", size=11),
                text=[f"θ*={DEFAULT_THETAS_DEG[best]:.1f}°"],
                textposition="top center",
                showlegend=False,
            )
        )
    return traces


def _static_traces(problems: tuple[ToyProblem, ToyProblem]) -> list[tuple[go.BaseTraceType, int, int]]:
    """Data points and unit circles (not animated), with their subplot (row, col)."""
    circle = np.linspace(0, 2 * np.pi, 100)
    traces = []
    for col, problem in enumerate(problems, start=1):
        traces.append(
            (
                go.Scatter(
                    x=np.cos(circle),
                    y=np.sin(circle),
                    mode="lines",
                    line=dict(color="#bbbbbb", dash="dot"),
                    hoverinfo="skip",
                    showlegend=False,
                ),
                1,
                col,
            )
        )
        for label, color in ((1, RED), (0, BLUE)):
            pts = problem.points[problem.labels == label]
            traces.append(
                (
                    go.Scatter(
                        x=pts[:, 0],
                        y=pts[:, 1],
                        mode="markers",
                        marker=dict(color=color, size=7, line=dict(color="white", width=0.5)),
                        name="red class (label 1)" if label else "blue class (label 0)",
                        showlegend=col == 1,
                    ),
                    1,
                    col,
                )
            )
    return traces


def sweep_figure(settings: ToySettings, initial_b: float = 2.0, b_values: tuple[float, ...] = B_SWEEP) -> go.Figure:
    """Both problems side by side (plane with shading and w*, loss vs θ) with one animation frame per B."""
    problems = settings.problems()
    fig = make_subplots(
        rows=2,
        cols=2,
        row_heights=[0.62, 0.38],
        vertical_spacing=0.08,
        subplot_titles=("problem A: data plane", "problem B: data plane", "problem A: loss vs θ", "problem B: loss vs θ"),
    )
    start = min(range(len(b_values)), key=lambda i: abs(b_values[i] - initial_b))
    # animated traces first (their indices are listed in every frame), then the static ones on top
    animated = _frame_traces(problems, b_values[start])
    positions = [(1, 1), (1, 1), (1, 2), (1, 2), (2, 1), (2, 1), (2, 2), (2, 2)]
    for trace, (row, col) in zip(animated, positions):
        fig.add_trace(trace, row=row, col=col)
    for trace, row, col in _static_traces(problems):
        fig.add_trace(trace, row=row, col=col)
    fig.frames = [go.Frame(name=f"{b:g}", data=_frame_traces(problems, b), traces=list(range(len(animated)))) for b in b_values]
    steps = [
        dict(
            method="animate",
            label=f"{b:g}",
            args=[[f"{b:g}"], dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))],
        )
        for b in b_values
    ]
    fig.update_layout(
        sliders=[dict(active=start, steps=steps, currentvalue=dict(prefix="B = "), pad=dict(t=30))],
        updatemenus=[
            dict(
                type="buttons",
                x=0,
                y=-0.08,
                xanchor="left",
                buttons=[
                    dict(
                        label="▶ sweep",
                        method="animate",
                        args=[
                            None,
                            dict(mode="immediate", frame=dict(duration=500, redraw=True), transition=dict(duration=0), fromcurrent=True),
                        ],
                    )
                ],
            )
        ],
        height=820,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=1.06),
        plot_bgcolor="white",
    )
    for col in (1, 2):
        fig.update_xaxes(range=[PLANE[0], PLANE[-1]], row=1, col=col, zeroline=True)
        fig.update_yaxes(range=[PLANE[0], PLANE[-1]], row=1, col=col, scaleanchor=f"x{col}", zeroline=True)
        fig.update_xaxes(range=[0, 180], title="θ (degrees)", row=2, col=col)
        fig.add_hline(y=LN2, line=dict(color="#999999", dash="dot"), row=2, col=col)
    fig.update_yaxes(title="mean BCE loss (near ln 2)", row=2, col=1)
    return fig


def optimum_figure(settings: ToySettings, b_values: np.ndarray | None = None) -> go.Figure:
    """θ*(B) for both problems, with the red cluster's mean direction for reference."""
    b_values = np.geomspace(1, 50, 60) if b_values is None else b_values
    problems = settings.problems()
    fig = go.Figure()
    for problem, dash in zip(problems, ("solid", "dash")):
        fig.add_trace(
            go.Scatter(
                x=b_values,
                y=[optimal_angle(problem, b) for b in b_values],
                mode="lines",
                name=f"θ*(B), problem {problem.name}",
                line=dict(dash=dash, width=3),
            )
        )
    fig.add_hline(y=problems[0].red_mean_angle, line=dict(color=RED, dash="dot"), annotation_text="red cluster's direction")
    fig.update_xaxes(type="log", title="B", tickvals=OPTIMUM_TICKS, ticktext=[f"{b:g}" for b in OPTIMUM_TICKS])
    fig.update_yaxes(title="optimal angle θ* (degrees)", range=[0, 180])
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.12))
    return fig


def training_figure(settings: ToySettings, b: float, theta0: float, learning_rate: float, steps: int = 60) -> go.Figure:
    """Gradient descent on θ for both problems, one frame per step: ▶ play, ❚❚ pause, slider = step, ⟲ reset."""
    problems = settings.problems()
    paths = [descent_trajectory(p, b, theta0, learning_rate, steps) for p in problems]
    fig = make_subplots(rows=1, cols=2, subplot_titles=tuple(f"problem {p.name}: gradient descent at B = {b:g}" for p in problems))
    for col, path in enumerate(paths, start=1):
        fig.add_trace(_arrow(path[0], "#ff7f0e", "w (training)", showlegend=col == 1), row=1, col=col)
    for trace, row, col in _static_traces(problems):
        fig.add_trace(trace, row=row, col=col)
    for col, problem in enumerate(problems, start=1):
        fig.add_trace(_arrow(optimal_angle(problem, b), "#999999", "w* (optimum at this B)", showlegend=col == 1), row=1, col=col)
    fig.frames = [
        go.Frame(
            name=str(i),
            data=[_arrow(path[i], "#ff7f0e", "w (training)", showlegend=col == 0) for col, path in enumerate(paths)],
            traces=[0, 1],
        )
        for i in range(steps + 1)
    ]

    def animate(frames: list[str] | None, duration: int) -> dict:
        return dict(
            method="animate",
            args=[
                frames,
                dict(mode="immediate", frame=dict(duration=duration, redraw=True), transition=dict(duration=0), fromcurrent=True),
            ],
        )

    fig.update_layout(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0,
                y=-0.12,
                xanchor="left",
                buttons=[
                    dict(label="▶ play", **animate(None, 150)),
                    dict(label="❚❚ pause", **animate([None], 0)),
                    dict(label="⟲ reset", **animate(["0"], 0)),
                ],
            )
        ],
        sliders=[
            dict(
                active=0,
                currentvalue=dict(prefix="step "),
                pad=dict(t=40),
                steps=[dict(label=str(i), **animate([str(i)], 0)) for i in range(steps + 1)],
            )
        ],
        height=500,
        margin=dict(l=10, r=10, t=60, b=10),
        legend=dict(orientation="h", y=1.12),
        plot_bgcolor="white",
    )
    for col in (1, 2):
        fig.update_xaxes(range=[PLANE[0], PLANE[-1]], row=1, col=col)
        fig.update_yaxes(range=[PLANE[0], PLANE[-1]], row=1, col=col, scaleanchor=f"x{col}")
    return fig
