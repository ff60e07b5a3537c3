"""An ImageNet model as a user of the official release would bring it: a ResNet-50 state dict in the official format,
loaded by path on a server whose operator allows paths, explains an ImageNet sample at 224 px in a real browser."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import bcos_core
from app.launch import running_dashboard
from app.settings import CHECKPOINT_PATHS_ENV_VAR
from bcos_core.preprocessing import encode_images
from bcos_core.render import explanation_to_rgba, rgba_over_background

from .browser import assert_no_errors, assert_same_picture, drawn_pixels, require_browser, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
IMAGE = "imagenet-samples/n01530575/n01530575_0.jpg"  # class 10, "brambling"


@pytest.fixture(scope="module")
def server():
    require_browser()
    with running_dashboard(env={CHECKPOINT_PATHS_ENV_VAR: "1"}) as url:
        yield url


def test_an_official_format_resnet50_explains_an_imagenet_sample_at_full_size(server, page, official_format_file, imagenet_samples) -> None:
    reference = f"bcos_resnet50_imagenet:{official_format_file('resnet50')}"
    page.set_viewport_size({"width": 1920, "height": 1200})  # a full-HD screen: room for the 224 px explanation at ≥ 1:1
    page.goto(f"{server}/?model={reference}&image=data:{IMAGE}&k=1&cls=10&pct=99.5&bg=black", wait_until="domcontentloaded")
    settle(page)
    page.wait_for_selector(".st-key-rgba [data-testid=stImage] img", timeout=120_000)
    assert_no_errors(page, "imagenet")
    inputs = "[data-testid=stSidebar] input:not([type=radio])"
    page.wait_for_function(f"() => document.querySelectorAll('{inputs}').length >= 4", timeout=60_000)  # the path box may draw last
    shown = page.locator(inputs).evaluate_all("inputs => inputs.map(i => i.value)")
    assert shown[:4] == ["Checkpoint file…", reference.partition(":")[2], "bcos_resnet50_imagenet", "brambling"], shown
    assert "1000 classes" in page.locator("[data-testid=stSidebar]").inner_text()
    assert "Why “brambling”?" in page.locator("h3").all_inner_texts()

    loaded = bcos_core.load_model(reference)
    with Image.open(imagenet_samples.parent / IMAGE) as image:
        crop = loaded.preprocess.to_array(image.convert("RGB"))
    x = encode_images(torch.from_numpy(crop).permute(2, 0, 1)[None])[0]
    expl = bcos_core.explain(loaded.model, x, 10)
    expected = rgba_over_background(explanation_to_rgba(expl.image, expl.linear_map, 15, 99.5), "black")  # the paper's ImageNet smoothing
    assert expected.shape[:2] == (224, 224)
    assert_same_picture(drawn_pixels(page, "rgba", (224, 224), "imagenet"), expected, "ImageNet explanation at 224 px", shift=1)
