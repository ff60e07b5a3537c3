"""Pictures sent as lossless PNG and drawn once per distinct content (bounded caches); the crop box drawn into the pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app import pictures
from app.figures import BOX_COLOUR, explanation_pixels, image_pixels
from app.memo import BoundedCache, cached_by_content, content_key
from app.pipeline import ExplainedMap, RenderOptions


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


def test_the_bounded_cache_keeps_the_most_recently_used() -> None:
    cache = BoundedCache(3)
    made = []
    for value in (0, 1, 2, 0, 3):  # 0 is used again before 3 arrives, so 1 is the one evicted
        cache.get(content_key(value), lambda v=value: made.append(v) or v)
    assert len(cache) == 3 and made == [0, 1, 2, 3]
    assert cache.get(content_key(1), lambda: "again") == "again" and cache.get(content_key(0), lambda: "lost") == 0


def test_content_keys_tell_arrays_apart_by_bytes_dtype_and_shape() -> None:
    values = np.arange(6, dtype=np.float32)
    keys = {content_key(values), content_key(values.reshape(2, 3)), content_key(values.astype(np.float64)), content_key(values + 1)}
    assert len(keys) == 4 and content_key(values.copy()) == content_key(values)
    big, changed = np.zeros(5000), np.zeros(5000)
    changed[2500] = 1  # NumPy's repr elides the middle of a large array: keys must not use it
    assert content_key([big], {"maps": (big,)}) != content_key([changed], {"maps": (changed,)})
    same = ExplainedMap(0, 1.0, 0.0, big[:64].reshape(8, 8), np.zeros((6, 8, 8), np.float32), 0.0)
    other = ExplainedMap(0, 1.0, 0.0, changed[2460:2524].reshape(8, 8), np.zeros((6, 8, 8), np.float32), 0.0)
    assert content_key(same) != content_key(other)  # dataclasses by their fields' content


def test_cached_by_content_shares_read_only_results() -> None:
    calls = []

    @cached_by_content(8)
    def double(values: np.ndarray, factor: int = 2) -> np.ndarray:
        calls.append(1)
        return values * factor

    first = double(np.arange(3))
    assert double(np.arange(3)) is first and len(calls) == 1 and not first.flags.writeable
    assert np.array_equal(double(np.arange(3), factor=3), [0, 3, 6]) and len(calls) == 2


def test_explanation_pixels_are_drawn_once_per_explanation_and_rendering(monkeypatch) -> None:
    rng = np.random.default_rng(1)
    linear_map = rng.normal(size=(6, 8, 8)).astype(np.float32)
    contributions = rng.normal(size=(8, 8))
    expl = ExplainedMap(0, 1.0, 0.0, contributions, linear_map, float(contributions.sum()))
    first = explanation_pixels(expl, RenderOptions(smooth=1), min_size=16)
    assert not first.flags.writeable  # shared between visitors
    same = ExplainedMap(0, 1.0, 0.0, contributions.copy(), linear_map.copy(), float(contributions.sum()))  # a cache_data copy
    monkeypatch.setattr(ExplainedMap, "rgba", lambda *args: pytest.fail("drawn again"))
    assert explanation_pixels(same, RenderOptions(smooth=1), min_size=16) is first
    monkeypatch.undo()
    assert not np.array_equal(explanation_pixels(expl, RenderOptions(smooth=1, background="white"), min_size=16), first)


def test_image_pixels_enlarge_by_a_whole_factor_and_outline_the_box_inside_its_edges() -> None:
    rgb = np.zeros((40, 60, 3), np.uint8)
    drawn = image_pixels(rgb, (10, 5, 30, 25), min_size=80)  # factor 2
    assert drawn.shape == (80, 120, 3)
    yellow = np.all(drawn == BOX_COLOUR, axis=2)
    rows, cols = np.nonzero(yellow)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (10, 50, 20, 60)  # box × 2, line inside it
    assert not yellow[12:48, 22:58].any()  # the inside stays the image
    assert np.array_equal(image_pixels(rgb, min_size=40), rgb)  # no box, no enlargement needed: unchanged


def test_the_cache_holds_at_most_max_bytes_of_arrays_and_bytes() -> None:
    cache = BoundedCache(100, max_bytes=1000)
    for value in range(4):
        cache.get(content_key(value), lambda v=value: bytes([v]) * 400)
    assert len(cache) == 2 and cache.held_bytes == 800  # the two most recent of 400 bytes each
    big = cache.get(content_key("big"), lambda: np.zeros(2000, np.uint8))
    assert big.nbytes == 2000 and len(cache) == 2  # too large to keep: returned, not stored


def test_a_huge_photo_is_reduced_for_display_with_its_box() -> None:
    rgb = np.zeros((2000, 3000, 3), np.uint8)
    drawn = image_pixels(rgb, (1000, 500, 2000, 1500), max_size=1024)  # reduced by 3
    assert drawn.shape == (667, 1000, 3)
    rows, cols = np.nonzero(np.all(drawn == BOX_COLOUR, axis=2))
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (167, 500, 333, 667)
