"""The toy's figures carry what a reader needs: the ln 2 reference, a legend, shading in every frame, ordered ticks."""

from __future__ import annotations

import numpy as np

from app.toy_figures import B_SWEEP, LN2, ToySettings, optimum_figure, sweep_figure, training_figure


def test_loss_panels_mark_ln2_and_say_why_the_curves_sit_there() -> None:
    fig = sweep_figure(ToySettings(), 2.0)
    lines = [shape for shape in fig.layout.shapes if shape.type == "line" and shape.y0 == shape.y1]
    assert len(lines) == 2 and all(abs(line.y0 - LN2) < 1e-12 for line in lines)
    assert "ln 2" in fig.layout.yaxis3.title.text
    curves = [trace for trace in fig.data if trace.type == "scatter" and trace.mode == "lines" and len(trace.x) > 100]
    assert len(curves) == 2 and all(np.abs(np.asarray(c.y) - LN2).max() < 0.01 for c in curves)  # as the caption says


def test_every_sweep_frame_keeps_its_shading_and_plays_without_a_transition() -> None:
    fig = sweep_figure(ToySettings(), 2.0)
    assert [frame.name for frame in fig.frames] == [f"{b:g}" for b in B_SWEEP]
    for frame in fig.frames:
        shadings = [trace for trace in frame.data if trace.type == "heatmap"]
        assert len(shadings) == 2 and all(np.asarray(s.z).max() == 100 for s in shadings)
    play = fig.layout.updatemenus[0].buttons[0].args[1]
    assert play["transition"]["duration"] == 0 and play["mode"] == "immediate"


def test_training_figure_has_a_legend_for_its_arrows() -> None:
    fig = training_figure(ToySettings(), 2.0, 10.0, 0.5)
    legend = {trace.name for trace in fig.data if trace.showlegend is not False}
    assert {"w (training)", "w* (optimum at this B)", "red class (label 1)", "blue class (label 0)"} <= legend
    assert fig.layout.showlegend is not False
    assert {trace.name for frame in fig.frames for trace in frame.data} == {"w (training)"}  # the legend does not flicker


def test_optimum_axis_ticks_are_in_order() -> None:
    axis = optimum_figure(ToySettings()).layout.xaxis
    values = list(axis.tickvals)
    assert values == sorted(values) and list(axis.ticktext) == [f"{v:g}" for v in values]
