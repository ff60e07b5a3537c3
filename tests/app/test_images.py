"""Image sources of the app: the shipped sample photos are decoded once and shared read-only."""

from __future__ import annotations

import pytest

from app.images import load_image, sample_image


def test_a_sample_photo_is_decoded_once_and_shared_read_only() -> None:
    first, again = sample_image("camera"), load_image("sample:camera")  # a grey photo, made RGB
    assert first is again and first.shape[2] == 3
    with pytest.raises(ValueError):
        first[0, 0, 0] = 0  # one visitor cannot change what every other visitor is shown
