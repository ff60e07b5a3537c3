"""Explanation API: batched classes equal single ones, neuron positions, signs and receptive fields."""

from __future__ import annotations

import math

import pytest
import torch

import bcos_core
from bcos_core.circuits import explain_channels
from bcos_core.explain import predicted_linear_maps
from bcos_core.layers import BcosConv2d, LogitLayer, circuit_layers
from bcos_core.metrics import alignment_by_layer, colour_agreement, explanation_alignment, explanation_colours
from bcos_core.models import BcosClassifier
from bcos_core.zoo import random_model


@pytest.fixture(scope="module")
def model() -> BcosClassifier:
    return random_model("bcos_resnet20_cifar10")


def _image() -> torch.Tensor:
    image = torch.rand(3, 32, 32)
    return torch.cat([image, 1 - image])


def test_batched_classes_equal_single_explanations(model) -> None:
    x = _image()
    together = bcos_core.explain_classes(model, x, "all")
    assert len(together) == 10
    for expl in together[::3]:
        single = bcos_core.explain(model, x, expl.target)
        torch.testing.assert_close(expl.linear_map, single.linear_map, rtol=1e-5, atol=1e-8)


def test_classes_in_chunks_equal_one_batched_pass(model) -> None:
    x = _image()
    whole = bcos_core.explain_classes(model, x, "all", class_chunk=32)
    chunked = bcos_core.explain_classes(model, x, "all", class_chunk=3)  # passes of 3, 3, 3 and 1 class
    for a, b in zip(whole, chunked, strict=True):
        assert a.target == b.target
        torch.testing.assert_close(a.linear_map, b.linear_map, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("b", [2.0, 2.5])
def test_normal_mode_batched_gradients_equal_one_class_at_a_time(b: float) -> None:
    """Outside explanation mode the gradient also differentiates the B-cos scale; batching it over classes
    (``is_grads_batched``, vmap under the hood) works for the fused B = 2 path and the general one."""
    model = random_model("bcos_fastnet_cifar10", widths=(8, 8, 16, 16), b=b)
    x = _image()[None].requires_grad_(True)
    with bcos_core.layers.running_statistics(model):
        logits = model(x)[0]
    batched = torch.autograd.grad(logits[:4], x, grad_outputs=torch.eye(4), is_grads_batched=True, retain_graph=True)[0]
    for c in range(4):
        single = torch.autograd.grad(logits[c], x, retain_graph=True)[0]
        torch.testing.assert_close(batched[c], single, rtol=1e-5, atol=1e-7)


def test_default_target_is_prediction_and_caller_tensor_untouched(model) -> None:
    x = _image()
    expl = bcos_core.explain(model, x[None])
    assert expl.target == int(bcos_core.class_logits(model, x).argmax())
    assert not x.requires_grad and x.grad is None
    model.train()
    bcos_core.explain(model, x)
    assert model.training, "the caller's train/eval state is restored"
    model.eval()


def test_bad_targets_are_clear_errors(model) -> None:
    with pytest.raises(ValueError, match="out of range"):
        bcos_core.explain(model, _image(), 10)
    with pytest.raises(ValueError, match="top<k>"):
        bcos_core.explain_classes(model, _image(), "best")
    with pytest.raises(ValueError, match="shape"):
        bcos_core.explain(model, torch.rand(2, 6, 32, 32))
    with pytest.raises(KeyError, match="no layer"):
        bcos_core.explain_neuron(model, _image(), "nope", 0)


class _TwoConvs(BcosClassifier):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = BcosConv2d(6, 4, 3, padding=1)
        self.conv2 = BcosConv2d(4, 4, 3, padding=1)
        self.classifier = BcosConv2d(4, 2, 1)
        self.logit_layer = LogitLayer(None, 0.0)
        self.num_classes = 2

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


def test_neuron_receptive_field_and_sign_flip() -> None:
    model = _TwoConvs().eval()
    x = _image()
    expl = bcos_core.explain_neuron(model, x, "conv2", 1, position=(10, 20))
    assert expl.receptive_field == (8, 18, 13, 23)  # two 3×3 convs: 5×5 around (10, 20)
    corner = bcos_core.explain_neuron(model, x, "conv1", 0, position=(0, 0))
    assert corner.receptive_field == (0, 0, 2, 2)  # clipped at the border
    activations = bcos_core.layer_activations(model, x, "conv2")
    negative = (activations < 0).nonzero()[0].tolist()
    flipped = bcos_core.explain_neuron(model, x, "conv2", negative[0], negative[1:])
    assert flipped.sign == -1.0 and flipped.logit == pytest.approx(-flipped.activation)
    assert float(flipped.contributions.sum()) == pytest.approx(flipped.logit, rel=1e-4)
    default = bcos_core.explain_neuron(model, x, "conv2", 2)
    assert default.activation == pytest.approx(float(activations[2].max()))


def test_neuron_position_out_of_range(model) -> None:
    with pytest.raises(ValueError, match="outside"):
        bcos_core.explain_neuron(model, _image(), "layer1.0.conv1", 0, (40, 0))


def test_batched_neurons_equal_single_explanations(model) -> None:
    images = torch.stack([_image() for _ in range(3)])
    positions = [(3, 4), None, (7, 0)]
    together = bcos_core.explain_neurons(model, images, "layer2.0.conv1", 5, positions)
    for image, position, batched in zip(images, positions, together):
        single = bcos_core.explain_neuron(model, image, "layer2.0.conv1", 5, position)
        assert batched.position == single.position and batched.activation == pytest.approx(single.activation, rel=1e-5)
        assert torch.allclose(batched.linear_map, single.linear_map, atol=1e-6)
        assert batched.completeness_error < 1e-4
    with pytest.raises(ValueError, match="positions"):
        bcos_core.explain_neurons(model, images, "layer2.0.conv1", 5, [None])


def test_predicted_linear_maps_of_a_batch_equal_single_explanations(model) -> None:
    images = torch.stack([_image() for _ in range(4)])
    logits, maps = predicted_linear_maps(model, images)
    for image, row, linear_map in zip(images, logits, maps):
        single = bcos_core.explain(model, image)
        assert single.target == int(row.argmax())
        torch.testing.assert_close(linear_map, single.linear_map, rtol=1e-5, atol=1e-8)
        assert abs(float((image * linear_map).sum()) + model.logit_bias - float(row.max())) < 1e-4 * max(1.0, abs(float(row.max())))


def test_alignment_is_the_cosine_of_each_images_own_linear_map(model) -> None:
    images = torch.rand(5, 3, 32, 32)
    cosines, logits = explanation_alignment(model, images, batch_size=2)
    assert cosines.shape == (5,) and logits.shape == (5, 10)
    for image, cosine in zip(images, cosines):
        x = torch.cat([image, 1 - image])
        linear_map = bcos_core.explain(model, x).linear_map
        expected = float((linear_map * x).sum() / (linear_map.norm() * x.norm()))
        assert abs(float(cosine) - expected) < 1e-5


def test_alignment_by_layer_is_the_cosine_of_each_cuts_exact_linear_map(model) -> None:
    images = torch.rand(3, 3, 32, 32)
    cosines, logits = alignment_by_layer(model, images, batch_size=2)
    below_classifier = circuit_layers(model)[:-1]
    assert list(cosines) == ["input", *below_classifier] and len(below_classifier) > 3
    torch.testing.assert_close(cosines["input"], explanation_alignment(model, images)[0])
    for index in (0, 2):
        x, top = torch.cat([images[index], 1 - images[index]]), int(logits[index].argmax())
        for layer in below_classifier[::3]:
            # independently: the circuit explanation at this cut, whose contributions W_L ⊙ a_L sum to the logit
            expl = explain_channels(model, x, layer, top)
            assert expl.completeness_error < 1e-4
            linear_map = expl.contributions / expl.activations
            expected = float(expl.contributions.sum() / (linear_map.norm() * expl.activations.norm()))
            assert abs(float(cosines[layer][index]) - expected) < 1e-4, layer


def _smooth_image(height: int = 16, width: int = 16) -> torch.Tensor:
    """A 6-channel encoded image whose colours change slowly from pixel to pixel."""
    ramp = torch.linspace(0.1, 0.9, width)
    rgb = torch.stack([ramp.expand(height, width), ramp.flip(0).expand(height, width), torch.full((height, width), 0.5)])
    return torch.cat([rgb, 1 - rgb])


def test_colour_agreement_of_a_map_aligned_with_the_image_is_its_own_colours() -> None:
    image = _smooth_image()
    agreement = colour_agreement(image, 0.3 * image)  # W(x) ∝ x: the explanation draws each pixel in its own colour
    assert agreement["error"] == pytest.approx(0, abs=1e-6)
    assert agreement["roughness"] == pytest.approx(agreement["image_roughness"], rel=1e-6) and agreement["image_roughness"] > 0


def test_colour_agreement_sees_stripes_and_wrong_colours_and_only_visible_pixels() -> None:
    image = _smooth_image()
    red, cyan = torch.tensor([1.0, 0, 0, 0, 1, 1]), torch.tensor([0, 1.0, 1, 1, 0, 0])
    stripes = torch.where(torch.arange(16) % 2 == 0, red[:, None, None], cyan[:, None, None]).expand(6, 16, 16).clone()
    striped = colour_agreement(image, stripes)  # saturated red and cyan columns over a smooth image
    assert striped["roughness"] > 10 * striped["image_roughness"] and striped["error"] > 0.3
    hidden = stripes.clone()
    hidden[:, :, 8:] = -0.3 * image[:, :, 8:]  # negative evidence is transparent: only the striped half is seen
    left_half = colour_agreement(image[:, :, :8], stripes[:, :, :8])["error"]
    assert colour_agreement(image, hidden)["error"] == pytest.approx(left_half, abs=0.05)
    assert math.isnan(colour_agreement(image, torch.zeros_like(image))["error"])  # no map, nothing drawn


def test_explanation_colours_average_each_images_predicted_class_explanation(model) -> None:
    images = torch.rand(4, 3, 32, 32)
    colours = explanation_colours(model, images, batch_size=3)
    expected = [colour_agreement(x, bcos_core.explain(model, x).linear_map) for x in (torch.cat([i, 1 - i]) for i in images)]
    assert colours["images"] == 4
    assert colours["error"] == pytest.approx(sum(e["error"] for e in expected) / 4, rel=1e-4)
    ratio = sum(e["roughness"] for e in expected) / sum(e["image_roughness"] for e in expected)
    assert colours["roughness_ratio"] == pytest.approx(ratio, rel=1e-4)
