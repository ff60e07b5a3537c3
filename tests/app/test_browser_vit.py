"""The shipped CIFAR-10 ViT in a real browser (Debian chromium + playwright): the class and Δ pages draw its composited
explanations exactly as the server computes them, and the neuron explorer and the gallery open one of its token layers."""

from __future__ import annotations

import pytest

import bcos_core
from bcos_core.explain import delta_between
from bcos_core.layers import explorable_layers

from .browser import assert_no_errors, assert_same_picture, drawn_pixels, settle
from .test_browser_pixels import PERCENTILE, SMOOTH, _composite, _input, _open

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIT = "cifar10_vitc_b2"
RENDER = f"smooth={SMOOTH}&pct={PERCENTILE}&bg=black"


def test_class_and_delta_pages_draw_the_vits_composited_explanations(server, page) -> None:
    loaded, x = _input(VIT)
    _open(page, f"{server}/?model={VIT}&image=sample:chelsea&cls=3&{RENDER}", "vit classes")
    expected = _composite(bcos_core.explain(loaded.model, x, 3))
    assert_same_picture(drawn_pixels(page, "rgba", expected.shape[:2], "vit_classes"), expected, "ViT, class page")
    _open(page, f"{server}/delta?model={VIT}&image=sample:chelsea&c1=3&c2=5&{RENDER}", "vit delta")
    first, second = bcos_core.explain_classes(loaded.model, x, [3, 5])
    expected = _composite(delta_between(first, second))
    assert_same_picture(drawn_pixels(page, "delta_rgba", expected.shape[:2], "vit_delta"), expected, "ViT, Δ page")


def test_neuron_explorer_and_gallery_open_a_token_layer_of_the_vit(server, page) -> None:
    layer = explorable_layers(bcos_core.load_model(VIT).model)[-2]
    for name, query in (("neurons", f"layer={layer}&ch=7"), ("gallery", f"g_layer={layer}&neuron=7")):
        page.goto(f"{server}/{name}?model={VIT}&image=sample:chelsea&{query}&{RENDER}", wait_until="domcontentloaded")
        settle(page)
        page.wait_for_selector(".js-plotly-plot .main-svg, [data-testid='stImage'] img", timeout=90_000)
        assert_no_errors(page, f"vit {name}")
        assert layer in page.inner_text("[data-testid='stApp']"), f"{name}: the page does not show layer {layer}"
