"""Figures and pictures of the app (conventions: square pixels, y down, symmetric diverging limits, labelled ends).

The builders are pure functions of their data, remembered by content (``memo.cached_by_content``): a page run that
shows what an earlier run (of any visitor) showed reuses the figure or picture instead of building it again.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from bcos_core.render import diverging_rgb, repeat_pixels, rgba_over_background, upscale_nearest

from .memo import cached_by_content
from .pipeline import ExplainedMap, RenderOptions

DELTA_COLORSCALE = [[0, "#08519c"], [0.25, "#6baed6"], [0.5, "#ffffff"], [0.75, "#fd8d3c"], [1, "#a63603"]]
CONTRIBUTION_COLORSCALE = [[0, "#0000ff"], [0.5, "#ffffff"], [1, "#ff0000"]]  # matplotlib "bwr", as in the paper


def _square(traces: list, height: int, title: str | None, **layout: object) -> go.Figure:
    """A figure with square pixels, y down and no axes, built in one step (Plotly's update_* calls cost ~10 ms each
    figure, and a page draws up to 20)."""
    return go.Figure(
        traces,
        dict(
            height=height,
            margin=dict(l=4, r=4, t=30 if title else 4, b=4),
            title=dict(text=title, font=dict(size=13)) if title else None,
            yaxis=dict(autorange="reversed", scaleanchor="x", constrain="domain", showticklabels=False, showgrid=False, zeroline=False),
            xaxis=dict(constrain="domain", showticklabels=False, showgrid=False, zeroline=False),
            **layout,
        ),
    )


BOX_COLOUR = (255, 212, 0)  # the yellow outline of the crop the model sees


@cached_by_content(256)
def image_pixels(rgb: np.ndarray, box: tuple[int, int, int, int] | None = None, min_size: int = 192, max_size: int = 1024) -> np.ndarray:
    """An RGB uint8 image enlarged (nearest, whole factor) to ``min_size``, or reduced (box average, whole factor) to at
    most ``max_size`` (an upload may be 40 megapixels; the page shows it a few hundred pixels wide); ``box`` = (left,
    top, right, bottom) in the image's pixels is outlined in yellow inside its edges (the crop the model sees)."""
    shrink = -(-max(rgb.shape[:2]) // max_size)
    if shrink > 1:
        pixels, scale = np.asarray(Image.fromarray(rgb).reduce(shrink)), 1 / shrink
    else:
        pixels = upscale_nearest(rgb, min_size)
        scale = pixels.shape[0] // rgb.shape[0]
    if box is not None:
        left, top, right, bottom = (max(0, round(v * scale)) for v in box)
        right, bottom = min(right, pixels.shape[1]), min(bottom, pixels.shape[0])
        line = max(2, round(min(pixels.shape[:2]) / 150))
        pixels = pixels.copy()
        for rows, cols in (
            (slice(top, top + line), slice(left, right)),
            (slice(bottom - line, bottom), slice(left, right)),
            (slice(top, bottom), slice(left, left + line)),
            (slice(top, bottom), slice(right - line, right)),
        ):
            pixels[rows, cols] = BOX_COLOUR
    return pixels


@cached_by_content(1024)
def explanation_pixels(
    expl: ExplainedMap, render: RenderOptions, min_size: int = 192, crop: tuple[slice, slice] | None = None
) -> np.ndarray:
    """The explanation composited over the page's background exactly as ``rgba_over_background`` computes it
    (optionally cropped, e.g. to a receptive field), enlarged with nearest-neighbour pixels."""
    rgba = expl.rgba(render)
    return upscale_nearest(rgba_over_background(rgba if crop is None else rgba[crop], render.background), min_size)


@cached_by_content(1024)
def contribution_pixels(values: np.ndarray, limit: float, min_size: int = 192) -> np.ndarray:
    """A contribution map as plain pixels (blue–white–red, the same palette as :func:`contribution_figure`)."""
    return upscale_nearest(diverging_rgb(values, limit), min_size)


@cached_by_content(1024)
def stacked_pixels(images: list[np.ndarray], gap: int = 6) -> np.ndarray:
    """RGB images one above the other in one picture, each enlarged (nearest, whole factor) towards the widest and
    centred on white, with a white ``gap`` between them: what belongs together (an explanation and its map) is drawn
    as one ``st.image``. (Fewer calls did not measurably speed up eight visitors; README, "Hosting".)"""
    width = max(image.shape[1] for image in images)
    rows = []
    for index, image in enumerate(images):
        image = repeat_pixels(image, max(1, width // image.shape[1]))
        left = (width - image.shape[1]) // 2
        row = np.full((image.shape[0], width, 3), 255, np.uint8)
        row[:, left : left + image.shape[1]] = image
        rows.extend([row] if index == 0 else [np.full((gap, width, 3), 255, np.uint8), row])
    return np.concatenate(rows, axis=0)


@cached_by_content(512)
def contribution_figure(
    values: np.ndarray,
    limit: float,
    title: str | None = None,
    height: int = 300,
    *,
    delta_labels: tuple[str, str] | None = None,
    background: np.ndarray | None = None,
) -> go.Figure:
    """Diverging map with limits [−limit, limit]; orange/blue with class-named ends for Δ maps.

    With ``background`` (RGB uint8) the map is drawn over the image with opacity 0.6 (an overlay).
    """
    colorscale = DELTA_COLORSCALE if delta_labels else CONTRIBUTION_COLORSCALE
    colorbar = dict(thickness=10, tickvals=[-limit, 0, limit], ticktext=[f"{-limit:.3g}", "0", f"{limit:.3g}"])
    if delta_labels:
        colorbar["ticktext"] = [delta_labels[1], "0", delta_labels[0]]
    label = "Δ" if delta_labels else "contribution"
    heatmap = go.Heatmap(
        z=values,
        zmid=0,
        zmin=-limit,
        zmax=limit,
        colorscale=colorscale,
        colorbar=colorbar,
        opacity=0.6 if background is not None else 1.0,
        hovertemplate=f"x=%{{x}} y=%{{y}}<br>{label}=%{{z:.4f}}<extra></extra>",
    )
    return _square([go.Image(z=background, hoverinfo="skip"), heatmap] if background is not None else [heatmap], height, title)


def activation_figure(values: np.ndarray, selected: tuple[int, int] | None, title: str | None = None, height: int = 320) -> go.Figure:
    """An activation map that can be clicked: a transparent scatter grid over the heatmap carries the clicks
    (Streamlit returns no selection for heatmap clicks; streamlit#8760)."""
    h, w = values.shape
    yy, xx = np.mgrid[0:h, 0:w]
    limit = float(np.abs(values).max()) or 1.0
    traces = [
        go.Heatmap(z=values, zmid=0, zmin=-limit, zmax=limit, colorscale="RdBu_r", colorbar=dict(thickness=10), hoverinfo="skip"),
        go.Scatter(
            x=xx.ravel(),
            y=yy.ravel(),
            mode="markers",
            marker=dict(size=max(4, int(height / max(h, w) * 0.8)), opacity=0.01, symbol="square"),
            hovertemplate="row=%{y} col=%{x}<extra></extra>",
            showlegend=False,
        ),
    ]
    shapes = []
    if selected is not None:
        row, col = selected
        shapes.append(dict(type="rect", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5, line=dict(color="#ffd400", width=3)))
    return _square(traces, height, title, shapes=shapes, clickmode="event+select", dragmode=False)


@cached_by_content(256)
def probability_bars(names: list[str], probabilities: np.ndarray, highlight: int | None = None) -> go.Figure:
    """Horizontal bars of sigmoid probabilities (the models are trained with BCE, so they need not sum to 1)."""
    colors = ["#d62728" if i == highlight else "#1f77b4" for i in range(len(names))]
    bars = go.Bar(
        x=probabilities, y=names, orientation="h", marker_color=colors, text=[f"{p:.1%}" for p in probabilities], textposition="auto"
    )
    layout = dict(
        height=40 + 28 * len(names),
        margin=dict(l=4, r=4, t=4, b=30),
        yaxis=dict(autorange="reversed"),
        xaxis=dict(range=[0, 1], title=dict(text="sigmoid(logit)")),
    )
    return go.Figure(bars, layout)


def class_histogram_figure(names: list[str], counts: np.ndarray, height: int = 260) -> go.Figure:
    """Classes of a neuron's top-k images."""
    fig = go.Figure(go.Bar(x=names, y=counts, marker_color="#1f77b4", hovertemplate="%{x}: %{y} images<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=4, r=4, t=30, b=4), title=dict(text="classes of the top images", font=dict(size=13)))
    fig.update_yaxes(title="images")
    return fig


def maxima_histogram_figure(edges: np.ndarray, counts: np.ndarray, top_threshold: float | None = None, height: int = 260) -> go.Figure:
    """Histogram of a neuron's per-image maximum over the dataset on a log axis; the first bin holds all values
    ≤ the first edge (including negatives). ``top_threshold`` marks the smallest top-k value."""
    lows = np.concatenate([[edges[0] / (edges[1] / edges[0])], edges[:-1]])
    keep = np.flatnonzero(counts)
    span = slice(max(keep.min() - 1, 0), keep.max() + 2) if keep.size else slice(0, len(counts))
    x = np.append(lows[span], edges[span][-1])  # a step outline: bin i spans [lows[i], edges[i])
    y = np.append(counts[span], counts[span][-1])
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=y,
            line_shape="hv",
            fill="tozeroy",
            line=dict(color="#7f7f7f"),
            hovertemplate="max from %{x:.3g}: %{y} images<extra></extra>",
        )
    )
    if top_threshold is not None and top_threshold > 0:
        fig.add_vline(x=top_threshold, line=dict(color="#d62728", dash="dash"), annotation_text="top-k", annotation_position="top left")
    fig.update_xaxes(type="log", title="per-image maximum activation")
    fig.update_yaxes(title="images")
    fig.update_layout(
        height=height, margin=dict(l=4, r=4, t=30, b=4), title=dict(text="maximum activation over the data set", font=dict(size=13))
    )
    return fig
