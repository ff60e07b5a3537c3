"""The model registry: every entry is loadable data, adding a model is adding an entry, updates keep the file intact."""

from __future__ import annotations

import shutil

import pytest
import torch

import bcos_core
from bcos_core import registry
from bcos_core.checkpoints import CheckpointError, ModelMetadata, save_model
from bcos_core.files import sha256_of
from bcos_core.models import build_model, get_spec
from bcos_core.zoo import load_model


@pytest.fixture
def registry_copy(tmp_path, monkeypatch):
    """A private copy of the registry file that the library reads and writes instead of the package's."""
    path = tmp_path / "registry.toml"
    shutil.copy(registry.REGISTRY_PATH, path)
    monkeypatch.setattr(registry, "REGISTRY_PATH", path)
    registry.read_registry.cache_clear()
    yield path
    registry.read_registry.cache_clear()


@pytest.mark.parametrize("name", list(registry.read_registry().models))
def test_every_entry_is_consistent_data(name: str) -> None:
    entry = registry.get_entry(name)
    spec = get_spec(entry.arch)
    assert spec.dataset == entry.dataset and entry.preprocess.size == spec.input_size
    assert len(entry.class_names()) == {"cifar10": 10, "imagenet": 1000}[entry.dataset]
    assert 0 < entry.accuracy < 1 and entry.licence and entry.description
    assert (entry.location == "download") == (entry.format == "bcos-v2-pth") == bool(entry.url)


@pytest.mark.parametrize("name", list(registry.read_registry().datasets))
def test_every_data_set_names_its_classes_and_preprocessing(name: str) -> None:
    dataset = registry.get_dataset(name)
    models = [e for e in registry.read_registry().models.values() if e.dataset == name]
    assert models, f"no model uses the data set {name}"
    for entry in models:  # a model loaded by path with this data set's preprocessing sees the registered ones' input size
        # (v2's long-schedule models resize to 232 before the same 224 crop, as their release evaluates them)
        assert entry.class_names() == dataset.class_names() and entry.preprocess.size == dataset.preprocess.size
    assert dataset.smoothing % 2 == 1 and dataset.scan_images > 0


def test_smoothing_follows_the_paper_per_data_set() -> None:
    assert registry.dataset_smoothing("cifar10") == 3 and registry.dataset_smoothing("imagenet") == 15
    assert registry.dataset_smoothing("my_own_data") == 3


def test_a_model_with_an_unregistered_data_set_is_refused(registry_copy) -> None:
    registry_copy.write_text(registry_copy.read_text().replace('dataset = "imagenet"', 'dataset = "imagenet21k"', 1))
    with pytest.raises(ValueError, match="imagenet21k"):
        registry.read_registry(registry_copy)


def test_imagenet_class_names_are_package_data() -> None:
    names = registry.read_class_names("imagenet")
    assert len(set(names)) == 1000 and names[0] == "tench" and names[-1] == "toilet tissue"


def test_adding_a_model_is_adding_an_entry(registry_copy, tmp_path) -> None:
    torch.manual_seed(0)
    model = build_model("bcos_fastnet_cifar10", widths=(8, 8, 16, 16)).eval()
    weights = save_model(
        model,
        tmp_path / "tiny",
        ModelMetadata(
            "bcos_fastnet_cifar10", {"widths": [8, 8, 16, 16]}, registry.read_class_names("cifar10"), "cifar10", 32, model.logit_bias
        ),
    )
    registry_copy.write_text(registry_copy.read_text() + _entry_text("tiny", weights))
    registry.read_registry.cache_clear()
    assert "tiny" in bcos_core.list_models() and "tiny" in registry.b_family()
    loaded = load_model("tiny")
    expl = bcos_core.explain(loaded.model, torch.rand(1, 6, 32, 32))
    assert float(expl.contributions.double().sum()) + expl.bias == pytest.approx(expl.logit, rel=1e-4, abs=1e-5)

    registry.update_entry("tiny", sha256="0" * 64)
    with pytest.raises(CheckpointError, match="SHA-256 differs"):
        load_model("tiny")


def test_family_members_are_grouped_by_architecture_apart_from_b(registry_copy) -> None:
    family = registry.b_family()
    if len(family) < 2:
        pytest.skip("fewer than two B-family models are registered")
    kwargs = {key: value for key, value in registry.get_entry(family[0]).arch_kwargs.items() if key != "widths"}
    registry.update_entry(family[0], arch_kwargs={**kwargs, "widths": [4, 4, 4, 4]})
    registry.read_registry.cache_clear()
    groups = registry.architecture_variants(family)
    assert list(groups.values())[0] == [family[0]] and sum(len(names) for names in groups.values()) == len(family)
    assert len(groups) >= 2 and "widths=[4, 4, 4, 4]" in list(groups)[0]


def _tiny_model(folder, name: str, seed: int, accuracy: float, widths=(8, 8, 16, 16), arch: str = "bcos_fastnet_cifar10"):
    """A small saved FastNet whose metadata records ``accuracy`` (and claims ``arch``); returns its weights path."""
    torch.manual_seed(seed)
    model = build_model("bcos_fastnet_cifar10", widths=widths).eval()
    metadata = ModelMetadata(
        arch,
        {"widths": list(widths)},
        registry.read_class_names("cifar10"),
        "cifar10",
        32,
        model.logit_bias,
        metrics={"test_accuracy": accuracy},
    )
    return save_model(model, folder / name, metadata)


def test_promoting_into_a_registered_model_updates_its_entry(registry_copy, tmp_path) -> None:
    from training.promote import promote

    def tiny(name: str, seed: int, accuracy: float, widths: tuple[int, ...] = (8, 8, 16, 16), arch: str = "bcos_fastnet_cifar10"):
        return _tiny_model(tmp_path, name, seed, accuracy, widths, arch)

    shipped = tiny("shipped", 0, 0.2)
    registry_copy.write_text(registry_copy.read_text() + _entry_text("tiny", shipped))
    registry.read_registry.cache_clear()
    candidate = tiny("candidate", 1, 0.3)
    assert promote(candidate, "tiny")
    entry = registry.get_entry("tiny")
    assert entry.sha256 == sha256_of(candidate) == sha256_of(shipped) and entry.accuracy == 0.3
    assert load_model("tiny").metadata.metrics["test_accuracy"] == 0.3

    wider = tiny("wider", 2, 0.4, widths=(8, 16, 24, 24))
    assert promote(wider, "tiny")
    assert registry.get_entry("tiny").arch_kwargs == {"widths": [8, 16, 24, 24]}
    assert load_model("tiny").model.classifier.in_channels == 24
    with pytest.raises(ValueError, match="register it as a new model"):
        promote(tiny("other", 3, 0.5, arch="bcos_vgg9_cifar10"), "tiny")
    assert registry.get_entry("tiny").accuracy == 0.4

    halved = tiny("halved", 4, 0.6, widths=(8, 16, 24, 24))
    assert promote(halved, "tiny", file_limit=1)  # any file is "too large": shipped in float16
    shipped_weights = registry.get_entry("tiny").weights_path
    assert shipped_weights.stat().st_size < 0.6 * halved.stat().st_size
    assert registry.get_entry("tiny").sha256 == sha256_of(shipped_weights)
    assert load_model("tiny").model.classifier.weight.dtype == torch.float32


def test_a_family_is_promoted_all_or_none(registry_copy, tmp_path, capsys) -> None:
    from training.promote import main

    for member, accuracy in (("one", 0.2), ("two", 0.5)):
        shipped = _tiny_model(tmp_path, f"shipped_{member}", 0, accuracy)
        registry_copy.write_text(registry_copy.read_text() + _entry_text(member, shipped))
    registry.read_registry.cache_clear()
    better_one, worse_two = _tiny_model(tmp_path, "new_one", 1, 0.3), _tiny_model(tmp_path, "new_two", 2, 0.4)
    assert main([str(better_one), "one", str(worse_two), "two"]) == 1
    assert "kept (all or none" in capsys.readouterr().out
    assert [registry.get_entry(name).accuracy for name in ("one", "two")] == [0.1, 0.1]  # neither entry touched
    assert sha256_of(registry.get_entry("one").weights_path) == sha256_of(tmp_path / "shipped_one.safetensors")

    better_two = _tiny_model(tmp_path, "newer_two", 3, 0.6)
    assert main([str(better_one), "one", str(better_two), "two"]) == 0
    assert capsys.readouterr().out.count("replaced") == 2
    assert registry.get_entry("one").sha256 == sha256_of(better_one) and registry.get_entry("two").accuracy == 0.6
    with pytest.raises(SystemExit):
        main([str(better_one), "one", str(better_two)])  # not in pairs


@pytest.mark.parametrize("name", [name for name, entry in registry.read_registry().models.items() if entry.location != "download"])
def test_shipped_weights_fit_a_space_without_git_lfs(name: str) -> None:
    from training.promote import SHIPPED_FILE_LIMIT_BYTES

    assert registry.get_entry(name).weights_path.stat().st_size <= SHIPPED_FILE_LIMIT_BYTES


def test_update_entry_rewrites_only_the_named_fields(registry_copy) -> None:
    before = registry_copy.read_text().splitlines()
    registry.update_entry("cifar10_vgg9_b1.5", accuracy=0.5, sha256="ab" * 32)
    after = registry_copy.read_text().splitlines()
    changed = [(old, new) for old, new in zip(before, after) if old != new]
    assert len(before) == len(after) and [new for _, new in changed] == [f'sha256 = "{"ab" * 32}"', "accuracy = 0.5"]
    assert registry.get_entry("cifar10_vgg9_b1.5").accuracy == 0.5 and registry.get_entry("cifar10_vgg9_b2.5").accuracy != 0.5
    registry.update_entry("cifar10_vgg9_b1.5", arch_kwargs={"b": 1.5, "widths": [8, 16], "mirror_average": True})
    assert registry.get_entry("cifar10_vgg9_b1.5").arch_kwargs == {"b": 1.5, "widths": [8, 16], "mirror_average": True}
    with pytest.raises(KeyError, match="no fields"):
        registry.update_entry("cifar10_vgg9_b1.5", colour="red")
    with pytest.raises(KeyError, match="not a registered model"):
        registry.update_entry("no_such_model", accuracy=0.1)


def test_unknown_names_list_the_registered_ones() -> None:
    with pytest.raises(CheckpointError, match="cifar10_fastnet_b2"):
        load_model("no_such_model")


def _entry_text(name: str, weights) -> str:
    """A registry entry for a tiny FastNet whose weights live at ``weights`` (an absolute path)."""
    return (
        f'\n[models.{name}]\ndescription = "a test model"\narch = "bcos_fastnet_cifar10"\narch_kwargs = {{ widths = [8, 8, 16, 16] }}\n'
        'dataset = "cifar10"\nclasses = "cifar10"\npreprocess = { size = 32 }\nlocation = "repository"\n'
        f'weights = "{weights}"\nformat = "safetensors"\nsha256 = "{sha256_of(weights)}"\nlicence = "test"\n'
        'accuracy = 0.1\naccuracy_source = "none"\ntags = ["b_family"]\n'
    )
