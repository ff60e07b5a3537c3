"""A mirror-averaging classifier: its logits, explanations, neurons and circuits in terms of the plain network's."""

from __future__ import annotations

import pytest
import torch

import bcos_core
from bcos_core.attribution import GRAD_CAM, attribution_method
from bcos_core.circuits import explain_channels
from bcos_core.layers import circuit_layers, explorable_layers, forward_to
from bcos_core.metrics import alignment_by_layer
from bcos_core.neuron_index._build import layer_maxima_pass
from bcos_core.preprocessing import encode_images
from bcos_core.zoo import random_model

# small widths keep the tests fast: our FastNet and the paper's 9-layer network (no norms, v1's scales)
ARCHITECTURES = {"bcos_fastnet_cifar10": (8, 16, 32, 32), "bcos_vgg9_cifar10": (8, 8, 16, 16, 16, 32, 32, 32)}


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def plain_and_mirrored(request):
    plain = random_model(request.param, widths=ARCHITECTURES[request.param])
    mirrored = random_model(request.param, widths=ARCHITECTURES[request.param], mirror_average=True)
    mirrored.load_state_dict(plain.state_dict())
    return plain, mirrored


def _assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal up to float32 rounding relative to the largest entry (a random network's outputs are tiny)."""
    scale = float(expected.abs().max())
    assert scale > 0
    torch.testing.assert_close(actual / scale, expected / scale, atol=1e-5, rtol=1e-4)


def _encoded(seed: int, count: int = 1) -> torch.Tensor:
    image = torch.rand(count, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    return torch.cat([image, 1 - image], dim=1)


def test_logits_are_the_mean_over_the_image_and_its_mirror_image(plain_and_mirrored) -> None:
    plain, mirrored = plain_and_mirrored
    x = _encoded(0, 4)
    with torch.no_grad():
        evidence = [plain.class_evidence(plain.forward_features(view)) for view in (x, x.flip(-1))]
        expected = plain.logit_layer((evidence[0] + evidence[1]) / 2)
        _assert_close(mirrored(x), expected)
        _assert_close(mirrored(x.flip(-1)), mirrored(x))


def test_the_linear_map_is_the_mean_of_the_two_passes_maps(plain_and_mirrored) -> None:
    plain, mirrored = plain_and_mirrored
    x = _encoded(1)[0]
    target = int(bcos_core.class_logits(mirrored, x).argmax())
    own = bcos_core.explain(plain, x, target).linear_map
    mirror = bcos_core.explain(plain, x.flip(-1), target).linear_map.flip(-1)
    # the plain logits carry the logit bias once each, the mean once: the maps (bias-free) average
    _assert_close(bcos_core.explain(mirrored, x, target).linear_map, (own + mirror) / 2)


def test_neurons_are_those_of_the_image_s_own_pass_which_runs_alone(plain_and_mirrored) -> None:
    plain, mirrored = plain_and_mirrored
    x = _encoded(2, 3)
    seen = []
    with torch.nn.modules.module.register_module_forward_hook(lambda module, args, output: seen.append(len(args[0]))):
        forward_to(mirrored, x, [explorable_layers(mirrored)[-1]])
    assert set(seen) == {3}  # reading layers skips the mirror pass (a full pass runs 6 rows)
    seen.clear()
    with torch.nn.modules.module.register_module_forward_hook(lambda module, args, output: seen.append(len(args[0]))), torch.no_grad():
        mirrored(x)
    assert 6 in seen
    for layer in explorable_layers(plain)[::3]:
        _assert_close(bcos_core.layer_activations(mirrored, x[0], layer), bcos_core.layer_activations(plain, x[0], layer))
        expl, reference = bcos_core.explain_neuron(mirrored, x[0], layer, 1), bcos_core.explain_neuron(plain, x[0], layer, 1)
        _assert_close(expl.linear_map, reference.linear_map)
    layers = explorable_layers(plain)
    for (values, positions, size), (want_values, want_positions, want_size) in zip(
        layer_maxima_pass(mirrored, layers)(x).values(), layer_maxima_pass(plain, layers)(x).values()
    ):
        assert values.shape == (3, want_values.shape[1]) and size == want_size
        _assert_close(values, want_values)
        assert torch.equal(positions, want_positions)


def test_channel_contributions_add_the_mirror_pass_mirrored_back(plain_and_mirrored) -> None:
    """At a cut, each channel's map is half the image's own pass plus half the mirror pass flipped onto the image's
    grid: the plain network's contributions on the image and on its mirror image."""
    plain, mirrored = plain_and_mirrored
    x = _encoded(3)[0]
    target = int(bcos_core.class_logits(mirrored, x).argmax())
    layer = circuit_layers(plain)[2]
    expl = explain_channels(mirrored, x, layer, target)
    own, mirror = explain_channels(plain, x, layer, target), explain_channels(plain, x.flip(-1), layer, target)
    _assert_close(expl.contributions, (own.contributions + mirror.contributions.flip(-1)) / 2)
    _assert_close(expl.activations, own.activations)
    assert expl.completeness_error < 1e-4


def test_layer_alignment_covers_both_passes(plain_and_mirrored) -> None:
    _, mirrored = plain_and_mirrored
    images = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    cosines, logits = alignment_by_layer(mirrored, images)
    assert logits.shape == (3, 10) and set(cosines) == {"input", *circuit_layers(mirrored)[:-1]}
    assert all(c.shape == (3,) and bool(((c >= -1) & (c <= 1)).all()) for c in cosines.values())
    x = encode_images(images)
    expl = bcos_core.explain(mirrored, x[0], int(logits[0].argmax()))
    cosine = torch.nn.functional.cosine_similarity(expl.linear_map.flatten(), x[0].flatten(), dim=0)
    assert float(cosines["input"][0]) == pytest.approx(float(cosine), abs=1e-5)


def test_grad_cam_gives_each_class_one_map_from_both_passes(plain_and_mirrored) -> None:
    plain, mirrored = plain_and_mirrored
    x, classes = _encoded(5)[0], [0, 3]
    maps = attribution_method(GRAD_CAM, mirrored)(x, classes)
    assert maps.shape == (2, 32, 32)
    own, mirror = attribution_method(GRAD_CAM, plain)(x, classes), attribution_method(GRAD_CAM, plain)(x.flip(-1), classes)
    # Grad-CAM's channel weights are mean gradients: the mirrored model's are half each pass's
    _assert_close(maps, (own + mirror.flip(-1)) / 2)
