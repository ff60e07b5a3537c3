"""Pictures sent as lossless PNG, encoded once per distinct picture; the crop box drawn into the pixels."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from app import pictures
from app.figures import BOX_COLOUR, image_pixels


def test_png_bytes_are_lossless_and_encoded_once_per_picture() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    data = pictures.png_bytes(pixels)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)
    assert pictures.png_bytes(pixels.copy()) is data  # same content: the cached encoding
    other = pixels.copy()
    other[0, 0] ^= 1
    assert pictures.png_bytes(other) != data
    assert pictures.png_bytes(pixels.reshape(48, 32, 3)) != data  # same bytes, other shape


def test_the_cache_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(pictures, "_CACHE_SIZE", 3)
    for value in range(5):
        pictures.png_bytes(np.full((2, 2, 3), value, np.uint8))
    assert len(pictures._cache) == 3


def test_image_pixels_enlarge_by_a_whole_factor_and_outline_the_box_inside_its_edges() -> None:
    rgb = np.zeros((40, 60, 3), np.uint8)
    drawn = image_pixels(rgb, (10, 5, 30, 25), min_size=80)  # factor 2
    assert drawn.shape == (80, 120, 3)
    yellow = np.all(drawn == BOX_COLOUR, axis=2)
    rows, cols = np.nonzero(yellow)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (10, 50, 20, 60)  # box × 2, line inside it
    assert not yellow[12:48, 22:58].any()  # the inside stays the image
    assert np.array_equal(image_pixels(rgb, min_size=40), rgb)  # no box, no enlargement needed: unchanged
