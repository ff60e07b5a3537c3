"""Shared fixtures: fixed seeds, the data folder and a reference (oracle) import that skips cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.data import default_data_root


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def cifar_root() -> Path:
    """The real CIFAR-10 ImageFolder copy; tests needing it skip with the reason when it is absent."""
    root = default_data_root() / "cifar10"
    if not (root / "test").is_dir():
        pytest.skip(f"CIFAR-10 folder not found at {root} (set $BCOS_DATA_DIR to the folder holding cifar10/)")
    return root


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |a − e| / max(max |e|, 1e-6): the scale-aware error used for all oracle comparisons."""
    actual, expected = actual.detach(), expected.detach()
    scale = max(float(expected.abs().max()), 1e-6)
    return float((actual - expected).abs().max()) / scale
