"""A small generated ImageFolder and a small random B-cos model for the neuron-index tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bcos_core.preprocessing import Preprocess
from bcos_core.zoo import random_model

CLASSES = ("ants", "bees", "cows")
IMAGES_PER_CLASS = 9


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data") / "toyset" / "test"
    rng = np.random.default_rng(0)
    for label, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(IMAGES_PER_CLASS):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) // (label + 1)
            Image.fromarray(pixels).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def small_model():
    return random_model("bcos_fastnet_cifar10", seed=3, widths=(8, 8, 16, 16), num_classes=3)


@pytest.fixture(scope="module")
def preprocess() -> Preprocess:
    return Preprocess(size=32)
