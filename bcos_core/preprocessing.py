"""From images to the 6-channel model input [r, g, b, 1−r, 1−g, 1−b]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import Tensor


def encode_images(images: Tensor, dim: int = -3) -> Tensor:
    """The model input encoding, the only place it is written: (…, 3, H, W) uint8 (→ float32) or float in [0, 1]
    → (…, 6, H, W) with the inverse channels appended, so every pixel has the same norm (``AddInverse`` calls it)."""
    x = images.float().div(255) if images.dtype == torch.uint8 else images
    return torch.cat([x, 1 - x], dim=dim)


def encode_crop(crop: np.ndarray) -> Tensor:
    """An (H, W, 3) uint8 RGB crop (what :meth:`Preprocess.to_array` returns) → the (1, 6, H, W) model input."""
    return encode_images(torch.from_numpy(np.ascontiguousarray(crop, dtype=np.uint8)).permute(2, 0, 1)[None])


@dataclass(frozen=True)
class Preprocess:
    """Resize the shorter side to ``resize`` (if set), centre-crop to ``size`` and encode.

    ``crop_box`` tells the UI which part of the (resized) image the model sees.
    """

    size: int
    resize: int | None = None

    def crop_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the centre crop in the coordinates of the resized image."""
        w, h = self.resized_size(width, height)
        left, top = (w - self.size) // 2, (h - self.size) // 2
        return left, top, left + self.size, top + self.size

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        target = self.resize or self.size
        scale = target / min(width, height)
        return max(self.size, round(width * scale)), max(self.size, round(height * scale))

    def to_array(self, image: Image.Image) -> np.ndarray:
        """The RGB uint8 (size, size, 3) crop that the model sees."""
        image = image.convert("RGB")
        image = image.resize(self.resized_size(*image.size), Image.BILINEAR)
        return np.array(image.crop(self.crop_box(*image.size)))

    def __call__(self, image: Image.Image) -> Tensor:
        """PIL image → (1, 6, size, size) model input."""
        return encode_crop(self.to_array(image))
