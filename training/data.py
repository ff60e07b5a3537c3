"""Image data held in memory as uint8 tensors, with batched augmentation on whole tensors.

Decoding 50,000 JPEGs costs tens of seconds, so the decoded arrays are cached in a local ``.npz``
(keyed by the folder's file list) and reused by later runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from bcos_core.datasets import DATA_ENV_VAR, default_data_root, list_image_folder
from bcos_core.files import atomic_path

__all__ = ["InMemoryDataset", "default_data_root", "load_image_folder", "load_torchvision_cifar10", "augment_batch"]


@dataclass
class InMemoryDataset:
    """Images (N, 3, H, W) uint8 with integer labels and class names."""

    images: Tensor
    labels: Tensor
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: Tensor) -> InMemoryDataset:
        return InMemoryDataset(self.images[indices], self.labels[indices], self.classes)

    def spread(self, count: int) -> InMemoryDataset:
        """``count`` images spread evenly over the set (all of it when it is smaller): every class of a class-sorted
        test folder, at a fraction of the cost of the whole set."""
        return self.subset(torch.linspace(0, len(self) - 1, min(count, len(self))).long())


def _decode(path: Path, size: int | None) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if size is not None and image.size != (size, size):
            image = image.resize((size, size), Image.BILINEAR)
        return np.asarray(image).transpose(2, 0, 1)


def load_image_folder(root: str | Path, cache_dir: str | Path | None = None, size: int | None = None) -> InMemoryDataset:
    """Decode an ImageFolder tree into memory (cached as ``.npz`` in ``cache_dir`` when given)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"data folder {root} does not exist: set --data.root or ${DATA_ENV_VAR}, or use --data.source=torchvision to download CIFAR-10"
        )
    classes, samples = list_image_folder(root)
    key = hashlib.sha1("\n".join(f"{p.relative_to(root)}:{p.stat().st_size}" for p, _ in samples).encode()).hexdigest()[:16]
    cache = Path(cache_dir) / f"{root.name}-{size}-{key}.npz" if cache_dir else None
    if cache is not None and cache.exists():
        stored = np.load(cache)
        return InMemoryDataset(torch.from_numpy(stored["images"]), torch.from_numpy(stored["labels"]), classes)
    images = np.stack([_decode(path, size) for path, _ in tqdm(samples, desc=f"decoding {root.name}", unit="img")])
    labels = np.array([label for _, label in samples], dtype=np.int64)
    if cache is not None:
        with atomic_path(cache) as tmp, open(tmp, "wb") as handle:  # per-process name: parallel runs may decode at once
            np.savez(handle, images=images, labels=labels)
    return InMemoryDataset(torch.from_numpy(images), torch.from_numpy(labels), classes)


def load_torchvision_cifar10(root: str | Path, train: bool) -> InMemoryDataset:
    """CIFAR-10 through torchvision's downloader (for machines with internet)."""
    from torchvision.datasets import CIFAR10

    data = CIFAR10(str(root), train=train, download=True)
    images = torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous()
    return InMemoryDataset(images, torch.tensor(data.targets), list(data.classes))


CUTOUT_FILL = 128  # mid grey: the square carries no colour evidence for either half of the [x, 1 − x] encoding


def augment_batch(images: Tensor, generator: torch.Generator, padding: int = 4, flip: bool = True, cutout: int = 0) -> Tensor:
    """Random crop with zero padding, random horizontal flip and cutout, on a whole uint8 batch at once.

    Cutout (DeVries & Taylor, 2017) greys out a ``cutout`` × ``cutout`` square at a uniformly drawn centre, clipped at
    the image border, so the model cannot rely on any one part of the object.
    """
    n, _, h, w = images.shape
    if padding:
        padded = torch.nn.functional.pad(images, (padding, padding, padding, padding))
        dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
        rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, images.shape[1], h, w + 2 * padding)
        images = padded.gather(2, rows)
        cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, images.shape[1], h, w)
        images = images.gather(3, cols)
    if flip:
        mask = torch.rand(n, generator=generator) < 0.5
        images = torch.where(mask[:, None, None, None], images.flip(3), images)
    if cutout:
        top = torch.randint(0, h, (n, 1), generator=generator) - cutout // 2
        left = torch.randint(0, w, (n, 1), generator=generator) - cutout // 2
        rows = (torch.arange(h) >= top) & (torch.arange(h) < top + cutout)
        cols = (torch.arange(w) >= left) & (torch.arange(w) < left + cutout)
        square = rows[:, None, :, None] & cols[:, None, None, :]
        images = images.masked_fill(square, CUTOUT_FILL)
    return images
