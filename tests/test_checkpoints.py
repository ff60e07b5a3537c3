"""Our model files: round trip, and one clear error for truncated, corrupt or mismatched files."""

from __future__ import annotations

import json

import pytest
import torch

import bcos_core
from bcos_core.checkpoints import CheckpointError, ModelMetadata, save_model
from bcos_core.zoo import random_model


def _save(tmp_path, arch="bcos_resnet20_cifar10"):
    model = random_model(arch)
    metadata = ModelMetadata(
        arch=arch,
        arch_kwargs={"b": 2.0},
        class_names=[f"c{i}" for i in range(10)],
        dataset="cifar10",
        input_size=32,
        logit_bias=model.logit_bias,
    )
    return model, save_model(model, tmp_path / "m", metadata)


def test_round_trip(tmp_path) -> None:
    model, path = _save(tmp_path)
    loaded = bcos_core.load_model(path)
    x = torch.rand(1, 6, 32, 32)
    torch.testing.assert_close(loaded.model(x), model(x))
    assert loaded.class_names[3] == "c3" and not loaded.model.training
    assert json.loads(path.with_suffix(".json").read_text())["library_version"] == bcos_core.__version__


def test_training_lineage_and_budget_follow_the_runs_a_model_was_initialised_from() -> None:
    def run(out_dir: str, epochs: int, images: int, started_from: dict | None = None) -> dict:
        record = {"epochs": epochs, "train_images": images, "config": {"run": {"out_dir": out_dir}}}
        return {**record, "initialised_from": {"path": "x", "training": started_from}} if started_from else record

    def metadata(training: dict) -> ModelMetadata:
        return ModelMetadata("a", {}, ["c"], "cifar10", 32, 0.0, training=training)

    restarted = metadata(run("runs/second", 8, 50_000, run("runs/first", 16, 50_000)))
    assert [r["config"]["run"]["out_dir"] for r in restarted.training_lineage] == ["runs/second", "runs/first"]
    assert restarted.training_budget == "16 + 8 epochs of 50,000 images"  # first cycle first
    subset_first = metadata(run("runs/full", 3, 50_000, run("runs/subset", 6, 20_000)))
    assert subset_first.training_budget == "6 epochs of 20,000 images + 3 epochs of 50,000 images"
    assert metadata({}).training_lineage == [] and metadata({}).training_budget == ""


def test_half_precision_storage_halves_the_file_and_stays_exact(tmp_path) -> None:
    from bcos_core.checkpoints import store_half_precision

    model, path = _save(tmp_path)
    full_bytes = path.stat().st_size
    store_half_precision(path)
    assert path.stat().st_size < 0.55 * full_bytes
    loaded = bcos_core.load_model(path)
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    x = torch.rand(1, 6, 32, 32)
    torch.testing.assert_close(loaded.model(x), model(x), rtol=2e-2, atol=2e-2)  # rounded weights, not the same model
    assert not torch.equal(loaded.model(x), model(x))
    expl = bcos_core.explain(loaded.model, x)
    assert float(expl.contributions.double().sum()) + expl.bias == pytest.approx(expl.logit, rel=1e-4, abs=1e-5)


def test_half_precision_storage_refuses_values_float16_cannot_hold(tmp_path) -> None:
    from bcos_core.checkpoints import store_half_precision

    model, path = _save(tmp_path)
    with torch.no_grad():
        next(model.parameters())[0].fill_(1e6)  # beyond float16's 65,504
    save_model(model, path, bcos_core.checkpoints.read_metadata(path))
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="beyond float16"):
        store_half_precision(path)
    assert path.read_bytes() == before


def test_names_with_dots(tmp_path) -> None:
    model = random_model("bcos_resnet20_cifar10")
    metadata = ModelMetadata(
        arch="bcos_resnet20_cifar10",
        arch_kwargs={"b": 1.5},
        class_names=[str(i) for i in range(10)],
        dataset="cifar10",
        input_size=32,
        logit_bias=model.logit_bias,
    )
    path = save_model(model, tmp_path / "family_b1.5", metadata)
    assert path.name == "family_b1.5.safetensors"
    assert bcos_core.load_model(tmp_path / "family_b1.5").metadata.b == 1.5


def test_truncated_file(tmp_path) -> None:
    _, path = _save(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        bcos_core.load_model(path)


def test_corrupt_file(tmp_path) -> None:
    _, path = _save(tmp_path)
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        bcos_core.load_model(path)


def test_pickle_is_never_loaded(tmp_path) -> None:
    _, path = _save(tmp_path)
    torch.save({"weights": torch.zeros(1)}, path)  # a pickle where safetensors belongs
    with pytest.raises(CheckpointError, match="safetensors"):
        bcos_core.load_model(path)


def test_mismatched_architecture(tmp_path) -> None:
    _, path = _save(tmp_path)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["arch"] = "bcos_resnet56_cifar10"
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not fit the architecture.*missing"):
        bcos_core.load_model(path)


def test_bad_metadata(tmp_path) -> None:
    _, path = _save(tmp_path)
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        bcos_core.load_model(path)
    path.with_suffix(".json").write_text(json.dumps({"arch": "x"}))
    with pytest.raises(CheckpointError, match="missing or unknown fields"):
        bcos_core.load_model(path)


def test_unknown_model_name_lists_known_ones() -> None:
    with pytest.raises(CheckpointError, match="v2_resnet18"):
        bcos_core.load_model("no-such-model")
