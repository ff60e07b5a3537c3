"""End to end in a real browser (Debian chromium + playwright): every page loads without an error element,
a control changes, and screenshots land in ``test-artifacts/``."""

from __future__ import annotations

import json

import pytest

from app.evaluation import QUALITY_PATH

from .browser import ARTIFACTS, assert_no_errors, settle

PAGES = {
    "classes": "",
    "delta": "delta",
    "neurons": "neurons",
    "gallery": "gallery",
    "b_family": "b_family",
    "evaluation": "evaluation",
    "toy": "toy",
}  # "/" is the default page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_error(server, page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{server}/{PAGES[name]}", wait_until="domcontentloaded")
    settle(page)
    # a chart, an image (the gallery's neuron grid), or (B family without shipped family models) an info message
    page.wait_for_selector(".js-plotly-plot .main-svg, [data-testid='stImage'] img, [data-testid='stAlertContentInfo']", timeout=90_000)
    assert_no_errors(page, name)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_toy_slider_and_deep_link(server, page) -> None:
    page.goto(f"{server}/toy?B=3.0&spread=0.1", wait_until="domcontentloaded")
    settle(page)
    assert "B=3.0" in page.url and "spread=0.1" in page.url  # the deep link is restored and kept
    # the sidebar's first slider is "spread (std)"; the main area's B slider may be drawn before the sidebar's
    slider = page.locator("[data-testid='stSidebar']").get_by_role("slider").first
    slider.wait_for(timeout=60_000)
    slider.focus()
    slider.press("ArrowRight")
    page.wait_for_function("() => window.location.search.includes('spread=0.11')", timeout=60_000)
    settle(page)
    assert_no_errors(page, "toy after slider")
    assert "B=3.0" in page.url
    page.screenshot(path=str(ARTIFACTS / "toy_after_slider.png"), full_page=True)


def test_navigation_keeps_the_image(server, page) -> None:
    page.goto(f"{server}/?image=sample:coffee&cls=2", wait_until="domcontentloaded")
    settle(page)
    assert "cls=2" in page.url
    page.get_by_role("link", name="Neuron explorer").click()
    page.wait_for_selector("[data-testid='stSelectbox']", timeout=60_000)
    settle(page)
    assert_no_errors(page, "neurons after navigation")
    page.wait_for_function("() => window.location.search.includes('layer=')", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "neurons_after_navigation.png"), full_page=True)


def test_neuron_explorer_links_to_the_neurons_explained_gallery_page(server, page) -> None:
    page.goto(f"{server}/neurons?image=sample:chelsea&layer=block2.conv2&ch=5", wait_until="domcontentloaded")
    settle(page)
    page.get_by_role("link", name="Top images of block2.conv2[5]").click()
    page.wait_for_function(
        "() => window.location.pathname.endsWith('/gallery') && window.location.search.includes('neuron=5')", timeout=60_000
    )
    settle(page)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= 16", timeout=90_000)
    assert_no_errors(page, "gallery neuron page")
    assert "block2.conv2 · channel 5" in page.locator("h3").first.inner_text()
    assert page.locator("text=Every tile's contributions sum to its activation").count() == 1
    page.screenshot(path=str(ARTIFACTS / "gallery_neuron.png"), full_page=True)


def test_evaluation_page_renders_stored_results(server, page) -> None:
    page.goto(f"{server}/evaluation?image=sample:rocket", wait_until="domcontentloaded")
    settle(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 6", timeout=120_000)
    assert_no_errors(page, "evaluation")
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "Model-inherent contributions vs post-hoc methods" in text and "versus B" in text
    assert page.locator(".js-plotly-plot .boxlayer .trace").count() >= 6  # box plots drawn from the stored results
    # the alignment-by-depth lines the browser draws are the stored profiles, one per model, input first
    drawn = page.evaluate(
        "() => document.querySelector('.st-key-alignment_by_layer .js-plotly-plot').data.map(t => [t.name, t.customdata, t.y])"
    )
    quality = json.loads(QUALITY_PATH.read_text())
    stored = {name: model["alignment"]["by_layer"] for name, model in quality["models"].items()}
    assert {name: dict(zip(layers, values)) for name, layers, values in drawn} == stored
    page.locator(".st-key-alignment_by_layer").screenshot(path=str(ARTIFACTS / "alignment_by_layer.png"))
    # the localisation-by-confidence lines are the stored blocks at the paper's smoothing, for the models that have them
    ranked = {name: model["localisation_by_rank"] for name, model in quality["models"].items() if model.get("localisation_by_rank")}
    page.wait_for_selector(".st-key-localisation_by_rank .js-plotly-plot .main-svg", timeout=60_000)
    drawn = page.evaluate("() => document.querySelector('.st-key-localisation_by_rank .js-plotly-plot').data.map(t => [t.name, t.x, t.y])")
    smooth = str(quality["smoothings"][0])
    assert ranked and {name: (x, y) for name, x, y in drawn} == {name: (r["first_grid"], r[smooth]) for name, r in ranked.items()}
    page.screenshot(path=str(ARTIFACTS / "evaluation.png"), full_page=True)
