"""The Gradio demo: its functions directly, and one in-process round trip through gradio_client."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from app import gradio_demo  # noqa: E402
from app.images import sample_image  # noqa: E402

MODEL = "cifar10_fastnet_b2"


def test_explain_is_exact() -> None:
    scores, picture, figure, text = gradio_demo.explain_image(sample_image("chelsea"), MODEL, k=3)
    assert len(scores) == 3 and all(0 <= p <= 1 for p in scores.values())
    assert picture.shape == (256, 256, 3) and figure.data[-1].type == "heatmap"
    explained, logit = float(text.split("= ")[1].split(";")[0]), float(text.rsplit(" ", 1)[1])
    assert explained == pytest.approx(logit, abs=2e-5)


def test_delta_and_toy() -> None:
    figure, text = gradio_demo.delta_image(sample_image("coffee"), MODEL)
    assert figure.data[0].type == "heatmap" and "logit gap" in text
    sweep, optimum = gradio_demo.toy_plots(2.0)
    assert len(sweep.frames) > 5 and len(optimum.data) == 2


def test_missing_or_odd_images() -> None:
    with pytest.raises(gr.Error, match="Upload or pick"):
        gradio_demo.explain_image(None, MODEL)
    grey = np.full((40, 50), 200, dtype=np.uint8)
    assert gradio_demo.explain_image(grey, MODEL)[1].shape == (256, 256, 3)


@pytest.mark.parametrize("background", ["black", "white"])
def test_explanation_is_the_composite_enlarged_with_sharp_pixels(background: str) -> None:
    import bcos_core
    from bcos_core.render import explanation_to_rgba, rgba_over_background

    loaded = bcos_core.load_model(MODEL)
    x = loaded.preprocess(Image.fromarray(sample_image("chelsea")))[0]
    expl = bcos_core.explain(loaded.model, x)
    expected = rgba_over_background(explanation_to_rgba(expl.image, expl.linear_map, 3, 99.5), background)
    picture = gradio_demo.explain_image(sample_image("chelsea"), MODEL, smooth=3, background=background)[1]
    blocks = picture.reshape(32, 8, 32, 8, 3)
    assert (blocks == expected[:, None, :, None]).all()  # every 8 × 8 block is one composited pixel, no blending
    other = rgba_over_background(explanation_to_rgba(expl.image, expl.linear_map, 3, 99.5), "white" if background == "black" else "black")
    assert (other != expected).any()


def test_client_round_trip() -> None:
    from gradio_client import Client, handle_file

    demo = gradio_demo.build_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(url, verbose=False)
        with tempfile.NamedTemporaryFile(suffix=".png") as handle:
            Image.fromarray(sample_image("rocket")).save(handle.name)
            result = client.predict(handle_file(handle.name), MODEL, 3, 3, api_name="/explain")
        assert result[0]["label"] and "model's logit" in result[3]
        with tempfile.NamedTemporaryFile(suffix=".png") as handle:
            handle.write(b"this is not a picture")
            handle.flush()
            with pytest.raises(Exception, match="Upload refused: this is not an image file"):
                client.predict(handle_file(handle.name), MODEL, 3, 3, api_name="/explain")
    finally:
        demo.close()
