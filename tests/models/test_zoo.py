"""Every registered architecture: shapes, exact class/Δ/neuron explanations (completeness)."""

from __future__ import annotations

import pytest
import torch

import bcos_core
from bcos_core.circuits import Neuron, explain_channels, explain_channels_of_layers
from bcos_core.layers import circuit_layers, explorable_layers
from bcos_core.models import get_spec, list_architectures
from bcos_core.zoo import random_model

MIRRORED = "bcos_fastnet_cifar10 (mirror_average)"


@pytest.fixture(scope="module", params=[*list_architectures(), MIRRORED])
def model_and_image(request):
    name = request.param
    if name == MIRRORED:
        model, size = random_model("bcos_fastnet_cifar10", mirror_average=True), 32
    else:
        size = 32 if get_spec(name).dataset == "cifar10" else 64  # fully convolutional: small inputs keep tests fast
        model = random_model(name)
    image = torch.rand(3, size, size)
    return name, model, torch.cat([image, 1 - image])


def _assert_complete(expl: bcos_core.Explanation, scale: float = 0.0) -> None:
    """Σ pixel contributions + Σ constant terms (a ViT's positional embedding; none for CNNs) + bias = the output."""
    pixels, terms = float(expl.contributions.double().sum()), sum(expl.constant_terms.values())
    total = pixels + terms + expl.bias
    # float32 rounding scales with the largest summand (a Δ of two close logits is small, its parts are not; ``scale``
    # is the size of the logits a Δ was taken between)
    assert abs(total - expl.logit) <= 1e-4 * max(abs(expl.logit), abs(pixels), abs(terms), 1e-3) + 1e-6 * scale, (total, expl.logit)


def test_class_explanations_are_complete(model_and_image) -> None:
    name, model, x = model_and_image
    explanations = bcos_core.explain_classes(model, x, "top3")
    logits = bcos_core.class_logits(model, x)
    assert [e.target for e in explanations] == logits.topk(3).indices.tolist()
    for expl in explanations:
        assert expl.linear_map.shape == x.shape and expl.contributions.shape == x.shape[1:]
        assert expl.bias == pytest.approx(model.logit_bias)
        assert expl.logit == pytest.approx(float(logits[expl.target]), rel=1e-5)
        _assert_complete(expl)


def test_delta_sums_to_logit_gap(model_and_image) -> None:
    _, model, x = model_and_image
    first, second = bcos_core.class_logits(model, x).topk(2).indices.tolist()
    delta = bcos_core.explain_delta(model, x, first, second)
    logits = bcos_core.class_logits(model, x)
    assert delta.bias == 0.0
    assert delta.logit == pytest.approx(float(logits[first] - logits[second]), rel=1e-4, abs=1e-6)
    _assert_complete(delta, scale=float(logits[[first, second]].abs().max()))


def test_intermediate_neurons_are_complete(model_and_image) -> None:
    _, model, x = model_and_image
    layers = explorable_layers(model)
    for layer in [layers[0], layers[len(layers) // 2], layers[-2]]:
        activations = bcos_core.layer_activations(model, x, layer)
        channel = int(activations.flatten(1).amax(1).argmax())
        expl = bcos_core.explain_neuron(model, x, layer, channel)
        assert expl.activation == pytest.approx(float(activations[channel].max()), rel=1e-5)
        assert expl.logit == pytest.approx(abs(expl.activation), rel=1e-6)
        _assert_complete(expl)


def test_channel_contributions_are_complete_at_cuts_for_classes_deltas_and_neurons(model_and_image) -> None:
    """Circuits: Σ channel contributions of a cut layer + constant terms above it + bias = the class logit, the logit
    gap, or a later neuron's activation (residual, dense and transformer blocks cut as whole blocks)."""
    _, model, x = model_and_image
    cuts, layers = circuit_layers(model), explorable_layers(model)
    first, second = bcos_core.class_logits(model, x).topk(2).indices.tolist()
    for target in (first, (first, second)):
        for expl in explain_channels_of_layers(model, x, [cuts[0], cuts[len(cuts) // 2], cuts[-1]], target):
            assert expl.completeness_error < 1e-4, (expl.layer, target)
    names = [name for name, _ in model.named_modules()]  # definition order is forward order in every zoo model
    later = next(n for n in names[names.index(cuts[1]) + 1 :] if n in layers and not n.startswith(cuts[1] + "."))
    expl = explain_channels(model, x, cuts[1], Neuron(later, 0))
    assert expl.completeness_error < 1e-4 and expl.value >= 0


def test_the_paper_network_narrows_to_given_widths_and_stays_exact() -> None:
    widths = [8, 8, 16, 16, 16, 24, 24, 24]
    model = bcos_core.build_model("bcos_vgg9_cifar10", widths=widths).eval()
    assert [layer.out_channels for layer in model.features] == widths and model.classifier.in_channels == 24
    image = torch.rand(3, 32, 32)
    _assert_complete(bcos_core.explain(model, torch.cat([image, 1 - image])))
    with pytest.raises(ValueError, match="8 hidden widths"):
        bcos_core.build_model("bcos_vgg9_cifar10", widths=[8, 8])


@pytest.mark.parametrize("variant", [{"norm": "bnu", "v1_scales": False}, {"downsample": "avgpool"}])
def test_the_paper_network_with_a_fastnet_choice_keeps_its_resolution_and_stays_exact(variant: dict) -> None:
    model = bcos_core.build_model("bcos_vgg9_cifar10", widths=[8, 8, 16, 16, 16, 24, 24, 24], **variant)
    model.train()
    image = torch.rand(2, 3, 32, 32)
    model(torch.cat([image, 1 - image], 1))  # batch statistics move away from the initial ones
    model.eval()
    kinds = {type(layer).__name__ for layer in model.features}
    assert ("BatchNormUncentered2d" in kinds) == ("norm" in variant) and ("AvgPool2d" in kinds) == ("downsample" in variant)
    assert model.forward_features(torch.rand(1, 6, 32, 32)).shape[-2:] == (8, 8)
    _assert_complete(bcos_core.explain(model, torch.cat([image[0], 1 - image[0]])))
    with pytest.raises(ValueError, match="downsample"):
        bcos_core.build_model("bcos_vgg9_cifar10", downsample="maxpool")


def test_a_fastnet_logit_temperature_divides_the_logits_and_stays_exact() -> None:
    plain = bcos_core.build_model("bcos_fastnet_cifar10", widths=[8, 8, 16, 16]).eval()
    cooled = bcos_core.build_model("bcos_fastnet_cifar10", widths=[8, 8, 16, 16], logit_temperature=4.0).eval()
    cooled.load_state_dict(plain.state_dict())  # the temperature is a constant, not a weight
    image = torch.rand(3, 32, 32)
    x = torch.cat([image, 1 - image])[None]
    bias = plain.logit_bias
    torch.testing.assert_close(cooled(x) - bias, (plain(x) - bias) / 4.0)
    _assert_complete(bcos_core.explain(cooled, x[0]))
