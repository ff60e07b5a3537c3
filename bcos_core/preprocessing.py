"""From images to the 6-channel model input [r, g, b, 1−r, 1−g, 1−b]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import Tensor


def encode_images(images: Tensor) -> Tensor:
    """(N, 3, H, W) uint8 or float in [0, 1] → (N, 6, H, W) float32 with the inverse channels appended."""
    x = images.float().div(255) if images.dtype == torch.uint8 else images.float()
    return torch.cat([x, 1 - x], dim=-3)


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
        array = self.to_array(image)
        return encode_images(torch.from_numpy(array).permute(2, 0, 1)[None].contiguous())
