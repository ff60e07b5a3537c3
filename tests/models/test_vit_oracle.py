"""B-cos ViTs equal the official v2 ones (test-only oracle ``bcos`` + ``einops``): an official-format state dict of
random weights loads into ours, and logits and contribution maps agree in normal and explanation mode."""

from __future__ import annotations

import pytest
import torch

import bcos_core
from bcos_core.checkpoints import load_state_into
from bcos_core.layers import running_statistics
from bcos_core.models import build_model, list_architectures
from bcos_core.official import read_official_state_dict
from tests.conftest import relative_error

bcos = pytest.importorskip("bcos", reason="the official bcos package builds the reference models")
pytest.importorskip("einops", reason="the official ViTs need einops")

SIZES = ["simple_vit_ti_patch16_224", "vitc_ti_patch1_14", "simple_vit_s_patch16_224", "vitc_s_patch1_14"]
LARGE = ["simple_vit_b_patch16_224", "vitc_b_patch1_14", "simple_vit_l_patch16_224", "vitc_l_patch1_14"]


def _pair(name: str, tmp_path) -> tuple[torch.nn.Module, torch.nn.Module]:
    reference = getattr(bcos.pretrained, name)(pretrained=False).eval()
    with torch.no_grad():  # norms' weights away from 1, so a key mix-up would show
        for key, value in reference.state_dict().items():
            if "norm" in key:
                value.uniform_(0.5, 1.5)
    path = tmp_path / f"{name}.pth"
    torch.save(reference.state_dict(), path)
    ours = build_model(f"bcos_{name}")
    load_state_into(ours, read_official_state_dict(path), str(path))
    return reference, ours.eval()


def _image() -> torch.Tensor:
    image = torch.rand(1, 3, 224, 224)
    return torch.cat([image, 1 - image], 1)


@pytest.mark.parametrize("name", SIZES + [pytest.param(n, marks=pytest.mark.slow) for n in LARGE])
def test_vit_equals_the_official_one(name: str, tmp_path) -> None:
    reference, ours = _pair(name, tmp_path)
    x = _image()
    with torch.no_grad(), running_statistics(ours):
        expected = reference(x)
        assert relative_error(ours(x), expected) <= 1e-5
    target = int(expected.argmax())
    ref_expl = reference.explain(x.clone(), idx=target)  # explanation mode: q and k detached
    ours_expl = bcos_core.explain(ours, x, target)
    assert relative_error(ours_expl.contributions, ref_expl["contribution_map"][0]) <= 1e-5
    assert relative_error(ours_expl.linear_map, ref_expl["dynamic_linear_weights"][0]) <= 1e-5


def test_every_official_vit_size_is_registered() -> None:
    assert {f"bcos_{n}" for n in SIZES + LARGE} <= set(list_architectures("bcos_*vit*"))


def test_the_positional_embedding_contribution_is_reported_exactly() -> None:
    """The embedding's own contribution closes the gap between Σ pixel contributions + bias and the logit, for a class,
    a Δ and a neuron inside a block; with the embedding zeroed the term vanishes and the pixels alone are exact."""
    model = bcos_core.zoo.random_model("bcos_vitc_ti_patch1_14", num_classes=10)
    x = _image()
    first, second = bcos_core.explain_classes(model, x, "top2")
    delta = bcos_core.explain_delta(model, x, first.target, second.target)
    neuron = bcos_core.explain_neuron(model, x, "transformer.encoder_3.ff.net.linear2", 5)
    for expl in (first, delta, neuron):
        pixels_only = abs(float(expl.contributions.double().sum()) + expl.bias - expl.logit)
        assert abs(expl.constant_terms["positional embedding"]) > 1e-3 and pixels_only > 1e-3
        assert expl.completeness_error < 1e-5
    import bcos_core.models._vit as vit

    original = vit.sincos_position_embedding
    vit.sincos_position_embedding = lambda h, w, d: torch.zeros(h * w, d)
    try:
        expl = bcos_core.explain(model, x)
        assert expl.constant_terms["positional embedding"] == 0.0
        assert abs(float(expl.contributions.double().sum()) + expl.bias - expl.logit) < 1e-5 * max(abs(expl.logit), 1.0)
    finally:
        vit.sincos_position_embedding = original
