"""A tiny generated ImageFolder data set (two colour classes), so training tests run in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def make_image_folder(root: Path, per_class: int = 24, size: int = 32, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for index, name in enumerate(["reddish", "bluish"]):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 120, (size, size, 3))
                pixels[..., 0 if index == 0 else 2] += 120
                Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i:04d}.png")
    return root


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("tiny"))


def tiny_overrides(data: Path, out_dir: Path, epochs: int = 3) -> list[str]:
    return [
        "--model.arch=bcos_resnet20_cifar10",
        f"--data.root={data}",
        "--data.cache_dir=",
        f"--optim.epochs={epochs}",
        "--optim.batch_size=8",
        "--optim.warmup_epochs=1",
        f"--run.out_dir={out_dir}",
        "--run.threads=1",
    ]
