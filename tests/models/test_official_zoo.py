"""Every model of the official B-cos v2 release (CNNs and ViTs) is registered, and every CNN architecture equals the
official package's (test-only oracle) on an official-format state dict of random weights; release files load by name
from ``$BCOS_WEIGHTS_DIR``."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import torch

import bcos_core
from bcos_core import registry
from bcos_core.checkpoints import load_state_into
from bcos_core.models import build_model
from bcos_core.official import list_official_models, read_official_state_dict
from tests.conftest import assert_equals_official, relative_error

bcos = pytest.importorskip("bcos", reason="the official bcos package builds the reference models")

B_COS_RELEASE = [name for name in bcos.pretrained.list_available() if not name.startswith("standard_")]  # 26 B-cos models
CNNS = [name for name in list_official_models() if "vit" not in name]


def test_every_b_cos_model_of_the_release_is_registered_once() -> None:
    entries = [registry.get_entry(name) for name in list_official_models()]
    assert sorted(e.official_entry for e in entries) == sorted(B_COS_RELEASE)
    for entry in entries:
        assert entry.weights.endswith(f"-{entry.sha256}.pth") and entry.url.endswith(entry.weights)
        assert 0.5 < entry.accuracy < 0.85 and entry.dataset == "imagenet"


def _randomised_reference(name: str) -> torch.nn.Module:
    reference = getattr(bcos.pretrained, name)(pretrained=False)
    with torch.no_grad():  # norms and ConvNeXt's layer scales away from their initial values, so a key mix-up would show
        for key, value in reference.state_dict().items():
            if key.endswith("running_var") or (key.endswith(".weight") and value.dim() == 1):
                value.uniform_(0.5, 1.5)
            elif key.endswith("layer_scale"):
                value.uniform_(0.1, 0.5)
    return reference.eval()


@pytest.mark.slow
@pytest.mark.parametrize("name", CNNS)
def test_an_official_cnn_state_dict_loads_and_matches_the_official_model(name: str, tmp_path) -> None:
    entry = registry.get_entry(name)
    reference = _randomised_reference(entry.official_entry)
    path = tmp_path / entry.weights
    torch.save(reference.state_dict(), path)
    ours = build_model(entry.arch)
    load_state_into(ours, read_official_state_dict(path), str(path))
    assert_equals_official(reference, ours.eval(), 64)


@pytest.mark.parametrize("name", ["v2_resnext50_32x4d", "v2_vitc_ti_patch1_14"])
def test_a_release_file_in_the_weights_folder_loads_by_name(name: str, tmp_path, monkeypatch) -> None:
    pytest.importorskip("einops", reason="the official ViTs need einops")
    entry = registry.get_entry(name)
    reference = _randomised_reference(entry.official_entry)
    path = tmp_path / entry.weights
    torch.save(reference.state_dict(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[: len(entry.sha256)]  # random weights: their own prefix
    monkeypatch.setenv("BCOS_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(registry, "get_entry", lambda n: dataclasses.replace(entry, sha256=digest) if n == name else entry)
    loaded = bcos_core.load_model(name)
    assert len(loaded.class_names) == 1000 and loaded.metadata.dataset == "imagenet"
    image = torch.rand(1, 3, 224, 224)
    x = torch.cat([image, 1 - image], 1)
    with torch.no_grad():
        expected = reference(x)[0]
    assert relative_error(bcos_core.class_logits(loaded.model, x), expected) <= 1e-5
