"""In a real browser: from a class explanation to a contributing neuron, to that neuron's gallery page and back, every
step by a link, with the exact numbers the browser shows checked against the library."""

from __future__ import annotations

import re

import pytest
from PIL import Image

import bcos_core
from app.images import load_image
from bcos_core.circuits import Neuron, explain_channels

from .browser import ARTIFACTS, assert_no_errors, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _readout(page) -> tuple[str, float, float, float]:
    """(the explained score's name, explained total, the model's value, relative error) of the panel's readout line."""
    text = page.locator("p", has_text="Σ over").first.inner_text()
    name = text.split(" = Σ over")[0]
    total = float(re.search(r"= (-?[\d.]+) \(model", text).group(1))
    model, error = re.search(r"model: (-?[\d.]+), relative error ([\d.e+-]+)", text).groups()
    return name, total, float(model), float(error)


def _bars(page) -> dict[int, float]:
    """The channel bars' data as the browser holds it (channel → contribution)."""
    page.wait_for_function("() => document.querySelector('.st-key-feed_bars .js-plotly-plot')?.data", timeout=90_000)
    data = page.evaluate("() => { const d = document.querySelector('.st-key-feed_bars .js-plotly-plot').data[0]; return [d.y, d.x]; }")
    return {int(name.split()[0].lstrip("#")): float(value) for name, value in zip(*data)}


def test_class_to_contributing_neuron_to_its_gallery_and_back(server, page) -> None:
    loaded = bcos_core.load_model()
    x = loaded.preprocess(Image.fromarray(load_image("sample:chelsea")))[0]
    page.goto(f"{server}/?image=sample:chelsea&cls=3&feed_layer=block3.conv1", wait_until="domcontentloaded")
    settle(page)
    page.wait_for_selector("text=Σ over", timeout=90_000)
    assert_no_errors(page, "class page with the panel")
    name, total, model, error = _readout(page)
    assert name == f"logit of “{loaded.class_names[3]}”"
    assert model == pytest.approx(float(bcos_core.class_logits(loaded.model, x)[3]), abs=1e-4)
    assert total == pytest.approx(model, abs=2e-5) and error < 1e-4
    expected = explain_channels(loaded.model, x, "block3.conv1", 3).channel_totals
    bars = _bars(page)
    assert len(bars) == 16
    for channel, value in bars.items():
        assert value == pytest.approx(float(expected[channel]), rel=1e-4, abs=1e-6)
    strongest = max((c for c in bars if bars[c] > 0), key=bars.get)
    page.screenshot(path=str(ARTIFACTS / "circuit_class_panel.png"), full_page=True)

    link = page.get_by_role("link", name="its gallery").first  # the strongest channel "for" comes first
    link.scroll_into_view_if_needed()
    link.click()
    page.wait_for_function(
        f"() => window.location.pathname.endsWith('/gallery') && window.location.search.includes('neuron={strongest}')", timeout=60_000
    )
    settle(page)
    page.wait_for_selector("text=Σ over", timeout=120_000)
    assert_no_errors(page, "the contributing neuron's gallery page")
    assert f"block3.conv1 · channel {strongest}" in page.locator("h3").first.inner_text()
    name, total, model, error = _readout(page)
    assert name == f"block3.conv1[{strongest}]"
    neuron = bcos_core.explain_neuron(loaded.model, x, "block3.conv1", strongest)
    assert model == pytest.approx(neuron.logit, rel=1e-4) and total == pytest.approx(model, abs=2e-5) and error < 1e-4
    lower = explain_channels(loaded.model, x, "block2.conv2", Neuron("block3.conv1", strongest)).channel_totals
    for channel, value in _bars(page).items():
        assert value == pytest.approx(float(lower[channel]), rel=1e-4, abs=1e-6)
    page.screenshot(path=str(ARTIFACTS / "circuit_gallery_panel.png"), full_page=True)

    back = page.get_by_role("link", name="Back to the class explanation of your image")
    back.scroll_into_view_if_needed()
    back.click()
    page.wait_for_function("() => !window.location.pathname.endsWith('/gallery')", timeout=60_000)
    settle(page)
    assert page.locator("h1").first.inner_text() == "Class explanations"
    assert "image=sample%3Achelsea" in page.url or "image=sample:chelsea" in page.url
    page.wait_for_selector("text=Σ over", timeout=90_000)
    assert_no_errors(page, "back on the class page")
