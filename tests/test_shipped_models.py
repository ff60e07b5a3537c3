"""Every shipped model loads from its files, explains exactly, and (with the data) keeps its accuracy."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import bcos_core
from app.images import SAMPLE_NAMES, sample_image
from bcos_core.metrics import evaluate_classifier
from bcos_core.zoo import ASSETS_DIR
from training.data import load_image_folder

SHIPPED = bcos_core.list_shipped_models()
BASELINE = str(ASSETS_DIR / "baselines" / "cifar10_conventional.safetensors")


def test_default_model_is_shipped() -> None:
    assert bcos_core.DEFAULT_MODEL in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_exact_on_sample_photos(name: str) -> None:
    loaded = bcos_core.load_model(name)
    assert loaded.metadata.metrics["test_accuracy"] > 0.5 and loaded.metadata.training["command"]
    for sample in SAMPLE_NAMES[:3]:
        x = loaded.preprocess(Image.fromarray(sample_image(sample)))
        for expl in bcos_core.explain_classes(loaded.model, x, "top3"):
            total = float(expl.contributions.double().sum()) + expl.bias
            assert abs(total - expl.logit) <= 1e-4 * max(abs(expl.logit), 1.0)
        layer = list(loaded.model.feature_layers())[-3]
        neuron = bcos_core.explain_neuron(loaded.model, x, layer, 0)
        assert float(neuron.contributions.double().sum()) == pytest.approx(neuron.logit, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("name", [*SHIPPED, BASELINE])
def test_recorded_accuracy_holds_on_real_test_images(name: str, cifar_root) -> None:
    """On 1,000 real test images the accuracy is within sampling error of the recorded full-test-set figure."""
    loaded = bcos_core.load_model(name)
    data = load_image_folder(cifar_root / "test", None, 32)
    subset = data.subset(torch.arange(0, len(data), len(data) // 1000))
    report = evaluate_classifier(loaded.model, subset.images, subset.labels, subset.classes)
    assert report["accuracy"] == pytest.approx(loaded.metadata.metrics["test_accuracy"], abs=0.05)


def test_conventional_baseline_is_shipped_apart_from_the_bcos_models() -> None:
    """The ReLU baseline loads by path for the evaluation but is not offered as a B-cos model to explain."""
    loaded = bcos_core.load_model(BASELINE)
    assert loaded.metadata.arch == "conventional_fastnet_cifar10" and "cifar10_conventional" not in SHIPPED
    assert loaded.metadata.metrics["test_accuracy"] > 0.8
