"""Rendering: the paper's RGBA recipe equals the oracle; diverging maps are symmetric."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bcos_core.render import diverging_rgb, explanation_to_rgba, rgba_over_background, symmetric_limit, upscale_nearest

bcos = pytest.importorskip("bcos", reason="the official bcos package is the rendering oracle")


@pytest.mark.parametrize("smooth", [0, 1, 3, 15])
@pytest.mark.parametrize("percentile", [99.5, 100.0])
def test_rgba_equals_gradient_to_image(smooth: int, percentile: float) -> None:
    image = torch.rand(3, 20, 24)
    image6 = torch.cat([image, 1 - image])
    linear_map = torch.randn(6, 20, 24)
    ours = explanation_to_rgba(image6, linear_map, smooth, percentile)
    reference = bcos.gradient_to_image(image6, linear_map, smooth, percentile)
    assert ours.shape == (20, 24, 4)
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_even_smoothing_kernel_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="odd"):
        explanation_to_rgba(torch.rand(6, 8, 8), torch.randn(6, 8, 8), smooth=4)


def test_diverging_map_is_symmetric_and_white_at_zero() -> None:
    values = np.array([[-2.0, 0.0, 2.0]])
    rgb = diverging_rgb(values, limit=2.0)
    assert rgb[0, 1].tolist() == [255, 255, 255]
    assert rgb[0, 0].tolist() == [0, 0, 255] and rgb[0, 2].tolist() == [255, 0, 0]
    delta = diverging_rgb(values, limit=2.0, palette="delta")
    assert delta[0, 2, 0] > delta[0, 2, 2], "positive (class 1) is orange"


def test_shared_limit_covers_all_maps() -> None:
    a, b = np.zeros((4, 4)), np.zeros((4, 4))
    a[0, 0], b[1, 1] = 1.0, -5.0
    assert symmetric_limit([a, b], percentile=100) == 5.0
    assert symmetric_limit([np.zeros((2, 2))]) == 1.0  # never a zero range


def test_rgba_composite_on_black() -> None:
    rgba = np.zeros((1, 2, 4))
    rgba[0, 1] = [1.0, 0.5, 0.0, 0.5]
    out = rgba_over_background(rgba)
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 1].tolist() == [128, 64, 0]


def test_rgba_composite_on_white_and_named_backgrounds() -> None:
    rgba = np.zeros((1, 2, 4))
    rgba[0, 1] = [1.0, 0.5, 0.0, 0.5]
    white = rgba_over_background(rgba, "white")
    assert white[0, 0].tolist() == [255, 255, 255] and white[0, 1].tolist() == [255, 191, 128]
    assert (rgba_over_background(rgba, "black") == rgba_over_background(rgba, (0.0, 0.0, 0.0))).all()
    with pytest.raises(ValueError, match="unknown background"):
        rgba_over_background(rgba, "grey")


def test_nearest_upscaling_repeats_pixels_to_at_least_the_size() -> None:
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    big = upscale_nearest(image, 7)
    assert big.shape == (8, 12, 3)  # factor 4: the smallest whole factor making both sides ≥ 7
    assert (big[::4, ::4] == image).all() and (big[3::4, 3::4] == image).all()
    assert upscale_nearest(image, 1).shape == image.shape
