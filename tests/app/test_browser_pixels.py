"""What the person sees: the explanation pixels a real browser draws equal the server's composite of the same explanation,
and the contribution maps' colour bars match the data the browser received (Debian chromium + playwright)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

import bcos_core
from app.figures import stacked_pixels
from app.images import sample_image
from bcos_core.explain import delta_between
from bcos_core.preprocessing import encode_images
from bcos_core.render import diverging_rgb, explanation_to_rgba, rgba_over_background, symmetric_limit, upscale_nearest

from .browser import assert_no_errors, assert_same_picture, drawn_pixels, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MODEL = "cifar10_fastnet_b2"
SMOOTH, PERCENTILE = 3, 99.5


def _input(model_name: str, sample: str = "chelsea") -> tuple[bcos_core.LoadedModel, torch.Tensor]:
    loaded = bcos_core.load_model(model_name)
    crop = loaded.preprocess.to_array(Image.fromarray(sample_image(sample)))
    return loaded, encode_images(torch.from_numpy(crop).permute(2, 0, 1)[None])[0]


def _composite(expl: bcos_core.Explanation, background: str = "black") -> np.ndarray:
    return rgba_over_background(explanation_to_rgba(expl.image, expl.linear_map, SMOOTH, PERCENTILE), background)


def _open(page, url: str, name: str) -> None:  # noqa: F811
    page.goto(url, wait_until="domcontentloaded")
    settle(page)
    page.wait_for_selector("[data-testid=stImage] img", timeout=90_000)
    assert_no_errors(page, name)


@pytest.mark.parametrize("background", ["black", "white"])
def test_class_page_draws_the_composited_explanation(server, page, background: str) -> None:  # noqa: F811
    loaded, x = _input(MODEL)
    _open(page, f"{server}/?image=sample:chelsea&cls=3&smooth={SMOOTH}&pct={PERCENTILE}&bg={background}", "classes")
    expected = _composite(bcos_core.explain(loaded.model, x, 3), background)
    assert_same_picture(drawn_pixels(page, "rgba", expected.shape[:2], f"classes_{background}"), expected, f"class page on {background}")


def test_class_page_grid_draws_each_top_class_composited(server, page) -> None:  # noqa: F811
    """The top-k grid draws one picture per class, in rank order: its composited explanation over its contribution map
    (the grid's shared colour scale)."""
    loaded, x = _input(MODEL)
    _open(page, f"{server}/?image=sample:chelsea&k=3&smooth={SMOOTH}&pct={PERCENTILE}&bg=black", "grid")
    page.wait_for_selector(".st-key-grid_2 [data-testid=stImage] img", timeout=90_000)
    grid = bcos_core.explain_classes(loaded.model, x, "top3")
    shared = symmetric_limit([e.contributions for e in grid])
    for rank, expl in enumerate(grid):
        element = page.locator(f".st-key-grid_{rank} [data-testid=stImage] img")
        element.scroll_into_view_if_needed()
        shot = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB"))
        explanation, contributions = _composite(expl), diverging_rgb(expl.contributions, shared)
        block = upscale_nearest(explanation, 192)  # the page enlarges both halves alike and stacks them
        scale = shot.shape[0] / stacked_pixels([block, block]).shape[0]
        centres = (np.arange(explanation.shape[0]) + 0.5) * block.shape[0] / explanation.shape[0]
        cols = ((np.arange(explanation.shape[1]) + 0.5) * shot.shape[1] / explanation.shape[1]).astype(int)
        top_rows = (centres * scale).astype(int)
        bottom_rows = ((shot.shape[0] - block.shape[0] * scale) + centres * scale).astype(int)
        assert_same_picture(shot[top_rows][:, cols], explanation, f"grid, rank {rank}, explanation")
        assert_same_picture(shot[bottom_rows][:, cols], contributions, f"grid, rank {rank}, contribution map")


def test_delta_page_draws_both_classes_and_the_delta(server, page) -> None:  # noqa: F811
    loaded, x = _input(MODEL)
    _open(page, f"{server}/delta?image=sample:chelsea&c1=3&c2=5&smooth={SMOOTH}&pct={PERCENTILE}&bg=black", "delta")
    first, second = bcos_core.explain_classes(loaded.model, x, [3, 5])
    for key, expl in (("first_rgba", first), ("second_rgba", second), ("delta_rgba", delta_between(first, second))):
        expected = _composite(expl)
        assert_same_picture(drawn_pixels(page, key, expected.shape[:2], "delta"), expected, f"Δ page, {key}")


def test_gallery_draws_the_neuron_on_your_image(server, page) -> None:  # noqa: F811
    loaded, x = _input(MODEL)
    _open(page, f"{server}/gallery?image=sample:chelsea&g_layer=block2.conv2&neuron=5&smooth={SMOOTH}&pct={PERCENTILE}&bg=black", "gallery")
    expl = bcos_core.explain_neuron(loaded.model, x, "block2.conv2", 5)
    top, left, bottom, right = expl.receptive_field
    expected = np.ascontiguousarray(_composite(expl)[top:bottom, left:right])
    assert_same_picture(drawn_pixels(page, "own_rgba", expected.shape[:2], "gallery"), expected, "gallery, this neuron on your image")


def test_b_family_page_draws_every_members_own_explanation(server, page) -> None:  # noqa: F811
    family = bcos_core.registry.b_family()
    if not family:
        pytest.skip("no B-family models are shipped")
    _open(page, f"{server}/b_family?image=sample:chelsea&fam_cls=-1&smooth={SMOOTH}&pct={PERCENTILE}&bg=black", "b_family")
    page.wait_for_selector(".st-key-fam_input [data-testid=stImage] img", timeout=90_000)
    for name in family:
        loaded, x = _input(name)
        key = f"rgba_b{loaded.metadata.b:g}".replace(".", "_")
        expected = _composite(bcos_core.explain(loaded.model, x))
        assert_same_picture(drawn_pixels(page, key, expected.shape[:2], "b_family"), expected, f"B family, {name}")
        _assert_colour_bar_fits_its_data(page, f"contrib_b{loaded.metadata.b:g}".replace(".", "_"))


def _assert_colour_bar_fits_its_data(page, key: str) -> None:  # noqa: F811
    """The heatmap's limits and colour-bar labels, as the browser holds them, are ± the 99.5th percentile of |its own z|."""
    page.wait_for_selector(f".st-key-{key} .js-plotly-plot .main-svg", timeout=90_000)
    trace = page.evaluate(
        f"""() => {{ const t = document.querySelector('.st-key-{key} .js-plotly-plot')._fullData.find(d => d.type === 'heatmap');
             return {{z: Array.from(t.z, row => Array.from(row)), zmin: t.zmin, zmax: t.zmax, ticks: t.colorbar.ticktext}}; }}"""
    )
    limit = symmetric_limit([np.array(trace["z"])])
    assert trace["zmax"] == pytest.approx(limit, rel=1e-6) and trace["zmin"] == pytest.approx(-limit, rel=1e-6), key
    assert trace["ticks"] == [f"{-limit:.3g}", "0", f"{limit:.3g}"], key


def test_class_page_colour_bar_fits_its_data(server, page) -> None:  # noqa: F811
    _open(page, f"{server}/?image=sample:coffee&cls=1", "classes")
    _assert_colour_bar_fits_its_data(page, "contrib")
