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


@pytest.fixture(scope="session")
def imagenet_samples() -> Path:
    """The 1,000 ImageNet sample images (one per class); tests needing them skip with the reason when absent."""
    root = default_data_root() / "imagenet-samples"
    if not (root / "n01440764").is_dir():
        pytest.skip(f"ImageNet samples not found at {root} (set $BCOS_DATA_DIR to the folder holding imagenet-samples/)")
    return root


@pytest.fixture(scope="session")
def official_format_file(tmp_path_factory):
    """``make(name)``: a state dict in the official B-cos v2 release format with random weights, saved by the official
    package (test-only), as a user's own fine-tuned model would be; the real weights cannot be downloaded here."""
    bcos = pytest.importorskip("bcos", reason="the official bcos package writes the official-format files")
    folder = tmp_path_factory.mktemp("official")

    def make(name: str) -> Path:
        path = folder / f"{name}_finetuned.pth"
        if not path.exists():
            torch.manual_seed(0)
            torch.save(getattr(bcos.pretrained, name)(pretrained=False).eval().state_dict(), path)
        return path

    return make


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |a − e| / max(max |e|, 1e-6): the scale-aware error used for all oracle comparisons."""
    actual, expected = actual.detach(), expected.detach()
    scale = max(float(expected.abs().max()), 1e-6)
    return float((actual - expected).abs().max()) / scale


def assert_equals_official(reference: torch.nn.Module, ours: torch.nn.Module, size: int) -> None:
    """Logits, linear map and contribution map of the top class on a random image: ours equal the official model's."""
    import bcos_core

    image = torch.rand(1, 3, size, size)
    x = torch.cat([image, 1 - image], 1)
    with torch.no_grad():
        logits_ref = reference(x)
    assert relative_error(bcos_core.class_logits(ours, x), logits_ref[0]) <= 1e-5
    target = int(logits_ref.argmax())
    ref_expl = reference.explain(x.clone(), idx=target)
    ours_expl = bcos_core.explain(ours, x, target)
    assert relative_error(ours_expl.linear_map, ref_expl["dynamic_linear_weights"][0]) <= 1e-5
    assert relative_error(ours_expl.contributions, ref_expl["contribution_map"][0]) <= 1e-5
