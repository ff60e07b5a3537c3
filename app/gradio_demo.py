"""Gradio demo (the hosted Space): pick or upload an image → top-k, explanation, Δ-explanation, exactness; the toy tab.

python -m app.gradio_demo        # or `python app.py` (the Space's entry point)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

import bcos_core
from bcos_core import registry
from bcos_core.preprocessing import encode_crop
from bcos_core.render import BACKGROUNDS, symmetric_limit

from . import figures
from .images import SAMPLE_NAMES, sample_image
from .pipeline import RenderOptions, reduce_explanation
from .toy_figures import B_SWEEP, ToySettings, optimum_figure, sweep_figure
from .uploads import ImageError, load_upload, refusal, to_rgb_array


class UploadedImage(gr.Image):
    """An image input whose uploads go through the dashboard's validation (size, format, decompression bombs), so a
    bad file gives the same clear message instead of Gradio's bare "Error"."""

    def preprocess(self, payload):
        if payload is None or payload.path is None:  # nothing, or an inline data URL (webcam, clipboard)
            return super().preprocess(payload)
        try:
            return load_upload(Path(payload.path).read_bytes())
        except (ImageError, OSError) as error:
            raise gr.Error(refusal(error if isinstance(error, ImageError) else ImageError(str(error)))) from None


@lru_cache(maxsize=4)
def _model(name: str) -> bcos_core.LoadedModel:
    return bcos_core.load_model(name)


def _crop(image: np.ndarray | None, model: bcos_core.LoadedModel) -> np.ndarray:
    if image is None:
        raise gr.Error("Upload or pick an image first.")
    try:
        rgb = to_rgb_array(Image.fromarray(np.asarray(image, dtype=np.uint8)))  # grey, RGB or RGBA arrays
    except (ValueError, TypeError, ImageError) as error:
        raise gr.Error(f"Unusable image: {error}") from None
    return model.preprocess.to_array(Image.fromarray(rgb))


def explain_image(image: np.ndarray | None, model_name: str, k: int = 5, smooth: int = 3, background: str = "black"):
    """→ (top-k label scores, explanation image, contribution figure, exactness text) for the top class.

    The explanation is the RGBA map composited over ``background`` (as the dashboard draws it) and enlarged with
    nearest-neighbour pixels, so the browser neither blends it with the page nor blurs a 32 px image."""
    model = _model(model_name)
    crop = _crop(image, model)
    x = encode_crop(crop)
    logits = bcos_core.class_logits(model.model, x).double().numpy()
    top = np.argsort(-logits)[: int(k)]
    scores = {model.class_names[i]: float(1 / (1 + np.exp(-logits[i]))) for i in top}
    expl = reduce_explanation(bcos_core.explain(model.model, x, int(top[0])))
    picture = figures.explanation_pixels(expl, RenderOptions(int(smooth), 99.5, background), min_size=256)
    contribution = figures.contribution_figure(
        expl.contributions, symmetric_limit([expl.contributions]), f"contributions to “{model.class_names[top[0]]}”", background=crop
    )
    text = expl.readout_text()
    return scores, picture, contribution, text


def delta_image(image: np.ndarray | None, model_name: str):
    """→ (Δ figure of top-1 vs top-2, exactness text)."""
    model = _model(model_name)
    x = encode_crop(_crop(image, model))
    first, second = [int(i) for i in np.argsort(-bcos_core.class_logits(model.model, x).numpy())[:2]]
    delta = reduce_explanation(bcos_core.explain_delta(model.model, x, first, second))
    names = (model.class_names[first], model.class_names[second])
    fig = figures.contribution_figure(
        delta.contributions, symmetric_limit([delta.contributions]), f"Δ {names[0]} − {names[1]}", delta_labels=names
    )
    text = f"Σ Δ-contributions {delta.contribution_sum:.5f} = logit gap {delta.logit:.5f} ({names[0]} − {names[1]})"
    return fig, text


def toy_plots(b: float = 2.0, spread: float = 0.05, size: int = 10, seed: int = 0):
    """→ (B-sweep figure, θ*(B) figure) of the Fig. 2 toy."""
    settings = ToySettings(spread=float(spread), size=int(size), seed=int(seed))
    return sweep_figure(settings, float(b)), optimum_figure(settings)


def build_demo() -> gr.Blocks:
    models = [name for name in bcos_core.list_models() if registry.get_entry(name).location != "download"]
    with gr.Blocks(title="B-cos Explorer") as demo:
        gr.Markdown(
            "# B-cos Explorer\nB-cos networks compute f(x) = W(x)·x, so every prediction has an exact explanation: the contributions "
            "below sum to the logit."
        )
        with gr.Tab("Explain"):
            with gr.Row():
                with gr.Column(scale=1):
                    image = UploadedImage(label="Image", type="numpy", value=sample_image(SAMPLE_NAMES[0]))
                    model_name = gr.Dropdown(
                        models, value=bcos_core.DEFAULT_MODEL if bcos_core.DEFAULT_MODEL in models else models[0], label="Model"
                    )
                    k = gr.Slider(1, 10, value=5, step=1, label="Top-k")
                    smooth = gr.Dropdown([1, 3, 5, 7, 15], value=3, label="Smoothing")
                    background = gr.Radio(list(BACKGROUNDS), value="black", label="Explanation background (the paper uses black)")
                    gr.Examples([[sample_image(n)] for n in SAMPLE_NAMES], inputs=[image])
                    button = gr.Button("Explain", variant="primary")
                with gr.Column(scale=2):
                    scores = gr.Label(label="Top-k (sigmoid probabilities)")
                    with gr.Row():
                        rgba = gr.Image(label="Explanation (RGBA, composited)", image_mode="RGB", height=300)
                        contribution = gr.Plot(label="Contribution map")
                    exactness = gr.Textbox(label="Exactness")
                    delta_plot = gr.Plot(label="Δ-explanation (top-1 vs top-2)")
                    delta_text = gr.Textbox(label="Δ exactness")
            button.click(
                explain_image, [image, model_name, k, smooth, background], [scores, rgba, contribution, exactness], api_name="explain"
            )
            button.click(delta_image, [image, model_name], [delta_plot, delta_text], api_name="delta")
        with gr.Tab("The B dial (toy)"):
            with gr.Row():
                b = gr.Dropdown(list(B_SWEEP), value=2.0, label="Starting B (the slider in the plot moves instantly)")
                spread = gr.Slider(0.0, 0.5, value=0.05, step=0.01, label="Spread")
                size = gr.Slider(1, 100, value=10, step=1, label="Points per cluster")
                seed = gr.Number(0, label="Seed", precision=0)
            sweep, optimum = gr.Plot(label="B sweep"), gr.Plot(label="θ*(B)")
            gr.Button("Draw").click(toy_plots, [b, spread, size, seed], [sweep, optimum], api_name="toy")
    return demo


if __name__ == "__main__":
    build_demo().launch()
