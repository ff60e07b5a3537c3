"""Batch augmentation: crop, flip and cutout act per image, deterministically from the generator."""

from __future__ import annotations

import torch

from training.data import CUTOUT_FILL, augment_batch


def _images(n: int = 64) -> torch.Tensor:
    return torch.randint(0, 100, (n, 3, 32, 32), dtype=torch.uint8)  # never CUTOUT_FILL, so the square is findable


def test_cutout_greys_one_square_per_image_clipped_at_the_border() -> None:
    images = _images()
    out = augment_batch(images, torch.Generator().manual_seed(0), padding=0, flip=False, cutout=8)
    grey = (out == CUTOUT_FILL).all(dim=1)  # (n, h, w): pixels greyed in every channel
    assert torch.equal(out[~grey[:, None].expand_as(out)], images[~grey[:, None].expand_as(out)])
    for mask in grey:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert 4 <= len(rows) <= 8 and 4 <= len(cols) <= 8  # at least half the side survives clipping
        assert mask.sum() == len(rows) * len(cols)  # one filled rectangle
        assert torch.equal(rows, torch.arange(rows[0], rows[-1] + 1))
    assert (grey.sum((1, 2)) < 64).any() and (grey.sum((1, 2)) == 64).any()  # some clipped, some whole


def test_augmentation_is_a_function_of_the_generator_and_off_by_default() -> None:
    images = _images()
    first = augment_batch(images, torch.Generator().manual_seed(3), cutout=8)
    assert torch.equal(first, augment_batch(images, torch.Generator().manual_seed(3), cutout=8))
    assert not torch.equal(first, augment_batch(images, torch.Generator().manual_seed(4), cutout=8))
    plain = augment_batch(images, torch.Generator().manual_seed(0), padding=0, flip=False)
    assert torch.equal(plain, images)
