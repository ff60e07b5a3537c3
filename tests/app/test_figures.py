"""Plain-pixel pictures of the app: stacking keeps every pixel, enlarges the narrower image and centres it on white."""

from __future__ import annotations

import numpy as np

from app.figures import stacked_pixels


def test_stacked_pixels_keeps_each_image_enlarges_the_narrow_one_and_centres_it() -> None:
    rng = np.random.default_rng(0)
    wide, narrow = rng.integers(0, 255, (4, 9, 3), dtype=np.uint8), rng.integers(0, 255, (2, 4, 3), dtype=np.uint8)
    stacked = stacked_pixels([wide, narrow], gap=3)
    assert stacked.shape == (4 + 3 + 4, 9, 3)  # the narrow image is doubled (whole factor 9 // 4) and centred
    assert np.array_equal(stacked[:4], wide)
    assert np.all(stacked[4:7] == 255)
    enlarged = np.repeat(np.repeat(narrow, 2, axis=0), 2, axis=1)
    assert np.array_equal(stacked[7:, :8], enlarged) and np.all(stacked[7:, 8] == 255)
    assert np.array_equal(stacked_pixels([wide]), wide)
