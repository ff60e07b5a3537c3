"""Official B-cos v2 state dicts load into our models and give the same logits and explanations."""

from __future__ import annotations

import pytest
import torch

import bcos_core
from bcos_core.checkpoints import CheckpointError, load_state_into
from bcos_core.models import build_model
from bcos_core.official import convert_official_state_dict, fetch_official, read_official_state_dict
from bcos_core.registry import get_entry
from tests.conftest import relative_error

bcos = pytest.importorskip("bcos", reason="the official bcos package builds the reference models")
NoBiasBNU = bcos.modules.norms.NoBias(bcos.modules.norms.BatchNormUncentered2d)


def _reference(name: str) -> tuple[torch.nn.Module, str, int]:
    if name == "cifar10_resnet20":
        return bcos.models.cifar10_resnet20(norm_layer=NoBiasBNU), "bcos_resnet20_cifar10", 32
    if name == "cifar10_resnet56":
        return bcos.models.cifar10_resnet56(norm_layer=NoBiasBNU), "bcos_resnet56_cifar10", 32
    if name == "resnet18":
        return bcos.pretrained.resnet18(pretrained=False), "bcos_resnet18_imagenet", 64
    if name == "resnet50":
        return bcos.pretrained.resnet50(pretrained=False), "bcos_resnet50_imagenet", 64
    return bcos.pretrained.densenet121(pretrained=False), "bcos_densenet121_imagenet", 64


def _randomise_norms(model: torch.nn.Module) -> None:
    """Give BN running variances and weights non-trivial values, so a key mix-up would show."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)


@pytest.mark.parametrize("name", ["cifar10_resnet20", "cifar10_resnet56", "resnet18", "resnet50", "densenet121"])
def test_official_state_dict_loads_and_matches(name: str, tmp_path) -> None:
    reference, arch, size = _reference(name)
    with torch.no_grad():
        _randomise_norms(reference)
    reference.eval()
    path = tmp_path / "official.pth"
    torch.save(reference.state_dict(), path)  # the release format: a plain state dict
    ours = build_model(arch)
    load_state_into(ours, read_official_state_dict(path), str(path))
    ours.eval()
    image = torch.rand(1, 3, size, size)
    x = torch.cat([image, 1 - image], 1)
    logits_ref = reference(x)
    assert relative_error(bcos_core.class_logits(ours, x), logits_ref[0]) <= 1e-5
    target = int(logits_ref.argmax())
    ref_expl = reference.explain(x.clone(), idx=target)
    ours_expl = bcos_core.explain(ours, x, target)
    assert relative_error(ours_expl.linear_map, ref_expl["dynamic_linear_weights"][0]) <= 1e-5
    assert relative_error(ours_expl.contributions, ref_expl["contribution_map"][0]) <= 1e-5


def test_key_conversion() -> None:
    converted = convert_official_state_dict(
        {"layer1.0.conv1.linear.weight": torch.zeros(1), "fc.linear.weight": torch.zeros(1), "bn1.running_var": torch.zeros(1)}
    )
    assert set(converted) == {"layer1.0.conv1.weight", "classifier.weight", "bn1.running_var"}


def test_missing_official_file_names_the_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BCOS_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr("urllib.request.urlopen", _offline)
    entry = get_entry("v2_resnet18")
    with pytest.raises(CheckpointError, match=entry.weights) as info:
        fetch_official(entry)
    assert str(tmp_path) in str(info.value)


def test_official_file_with_wrong_hash_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BCOS_WEIGHTS_DIR", str(tmp_path))
    entry = get_entry("v2_resnet18")
    (tmp_path / entry.weights).write_bytes(b"not the release file")
    with pytest.raises(CheckpointError, match="SHA-256"):
        fetch_official(entry)


def _offline(*args, **kwargs):
    raise OSError("network unreachable")
