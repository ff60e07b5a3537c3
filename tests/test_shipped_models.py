"""Every shipped model loads from its files, explains exactly, agrees with its registry entry, and (with the data)
keeps its accuracy."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import bcos_core
from app.images import SAMPLE_NAMES, sample_image
from bcos_core import registry
from bcos_core.checkpoints import read_metadata
from bcos_core.files import sha256_of
from bcos_core.layers import explorable_layers
from bcos_core.metrics import evaluate_classifier
from training.data import load_image_folder

SHIPPED = [name for name in bcos_core.list_models() if registry.get_entry(name).location != "download"]
BASELINE = "cifar10_conventional"


def test_default_model_is_shipped_inside_the_package() -> None:
    entry = registry.get_entry(bcos_core.DEFAULT_MODEL)
    assert entry.location == "package" and entry.weights_path.is_relative_to(registry.PACKAGE_WEIGHTS_DIR)


@pytest.mark.parametrize("name", [*SHIPPED, BASELINE])
def test_registry_entry_agrees_with_the_model_files(name: str) -> None:
    """The registry (what loading uses) and the JSON training record beside the weights describe the same model."""
    entry = registry.get_entry(name)
    metadata = read_metadata(entry.weights_path)
    assert sha256_of(entry.weights_path) == entry.sha256
    assert (metadata.arch, metadata.arch_kwargs, metadata.dataset) == (entry.arch, entry.arch_kwargs, entry.dataset)
    assert metadata.class_names == entry.class_names() and metadata.input_size == entry.preprocess.size
    assert entry.accuracy == pytest.approx(metadata.metrics["test_accuracy"], abs=5e-5)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_exact_on_sample_photos(name: str) -> None:
    loaded = bcos_core.load_model(name)
    assert loaded.metadata.metrics["test_accuracy"] > 0.5 and loaded.metadata.training["command"]
    for sample in SAMPLE_NAMES[:3]:
        x = loaded.preprocess(Image.fromarray(sample_image(sample)))
        for expl in bcos_core.explain_classes(loaded.model, x, "top3"):  # Σ contributions (+ a ViT's constant terms) + bias
            assert expl.completeness_error <= 1e-4
        layer = explorable_layers(loaded.model)[-3]
        neuron = bcos_core.explain_neuron(loaded.model, x, layer, 0)
        total = float(neuron.contributions.double().sum()) + sum(neuron.constant_terms.values())
        assert total == pytest.approx(neuron.logit, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("name", [*SHIPPED, BASELINE])
def test_recorded_accuracy_holds_on_real_test_images(name: str, cifar_root) -> None:
    """On 1,000 real test images the accuracy is within sampling error of the recorded full-test-set figure."""
    loaded = bcos_core.load_model(name)
    data = load_image_folder(cifar_root / "test", None, 32)
    subset = data.subset(torch.arange(0, len(data), len(data) // 1000))
    report = evaluate_classifier(loaded.model, subset.images, subset.labels, subset.classes)
    assert report["accuracy"] == pytest.approx(loaded.metadata.metrics["test_accuracy"], abs=0.05)


def test_conventional_baseline_is_registered_apart_from_the_bcos_models() -> None:
    """The ReLU baseline loads by name for the evaluation but is not offered as a B-cos model to explain."""
    loaded = bcos_core.load_model(BASELINE)
    assert loaded.metadata.arch == "conventional_fastnet_cifar10" and BASELINE not in bcos_core.list_models()
    assert loaded.metadata.metrics["test_accuracy"] > 0.8


def test_the_shipped_neuron_index_holds_every_explorable_layer_of_the_default_model() -> None:
    from bcos_core.neuron_index import SHIPPED_INDEX_DIR, load_index

    index = load_index(next(SHIPPED_INDEX_DIR.glob(f"{bcos_core.DEFAULT_MODEL}.*.safetensors")))
    assert list(index.layers) == explorable_layers(bcos_core.load_model().model)
