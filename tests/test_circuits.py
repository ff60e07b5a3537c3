"""Circuits: exact channel contributions of a lower layer to a class, a Δ or a neuron, checked against forward-mode
autodiff (an independent computation of the frozen network's directional derivative) and for completeness."""

from __future__ import annotations

import pytest
import torch
import torch.autograd.forward_ad as forward_ad

import bcos_core
from bcos_core.circuits import Neuron, channel_totals_over_images, explain_channels, explain_circuit, layers_below
from bcos_core.layers import circuit_layers, explanation_mode, forward_through, running_statistics
from bcos_core.zoo import random_model


def _image(size: int = 32, seed: int = 0) -> torch.Tensor:
    x = torch.rand(3, size, size, generator=torch.Generator().manual_seed(seed))
    return torch.cat([x, 1 - x])


def _score(output: torch.Tensor, target) -> torch.Tensor:
    if isinstance(target, tuple):
        return output[0, target[0]] - output[0, target[1]]
    return output[0, target]


def _forward_mode_contribution(model, x: torch.Tensor, layer: str, channel: int, target) -> float:
    """d score / d t of the frozen network along a_k restricted to one channel (forward-mode AD, no backward pass):
    the network above the cut is linear in a_k in explanation mode, so this is that channel's contribution. The hook is
    the test's own, on a private model."""
    module = dict(model.named_modules())[layer]

    def inject_tangent(_module, _inputs, output):
        tangent = torch.zeros_like(output)
        dim = getattr(module, "channel_dim", 1)
        tangent.movedim(dim, 1)[:, channel] = output.movedim(dim, 1)[:, channel]
        return forward_ad.make_dual(output, tangent)

    handle = module.register_forward_hook(inject_tangent)
    try:
        with forward_ad.dual_level(), explanation_mode(model), running_statistics(model), torch.no_grad():
            return float(forward_ad.unpack_dual(_score(model(x[None]), target)).tangent)
    finally:
        handle.remove()


@pytest.mark.parametrize("arch", ["bcos_fastnet_cifar10", "bcos_resnet20_cifar10", "bcos_vitc_ti_patch1_14"])
@pytest.mark.parametrize("target", [3, (3, 5)])
def test_channel_contributions_equal_forward_mode_autodiff(arch: str, target) -> None:
    model = random_model(arch)
    x = _image(32 if "cifar" in arch else 14)
    cuts = circuit_layers(model)
    for layer in [cuts[1], cuts[len(cuts) // 2], cuts[-1]]:
        expl = explain_channels(model, x, layer, target)
        for channel in expl.top_channels(3):
            expected = _forward_mode_contribution(model, x, layer, channel, target)
            assert float(expl.channel_totals[channel]) == pytest.approx(expected, rel=1e-4, abs=1e-7), (layer, channel)
        assert expl.completeness_error < 1e-5


def test_the_shipped_model_agrees_with_forward_mode_autodiff_and_is_complete() -> None:
    loaded = bcos_core.load_model()
    x = _image(seed=1)
    logits = bcos_core.class_logits(loaded.model, x)
    top = int(logits.argmax())
    expl = explain_channels(loaded.model, x, "block3.conv1", top)
    assert expl.value == pytest.approx(float(logits[top]), rel=1e-5) and expl.bias == pytest.approx(loaded.model.logit_bias)
    assert expl.contributions.shape == (loaded.model.block3.conv1.out_channels, 8, 8) and expl.completeness_error < 1e-5
    for channel in expl.top_channels(2, sign=1) + expl.top_channels(2, sign=-1):
        expected = _forward_mode_contribution(loaded.model, x, "block3.conv1", channel, top)
        assert float(expl.channel_totals[channel]) == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_a_neuron_is_explained_by_a_lower_layer_exactly_at_its_position() -> None:
    model = random_model("bcos_fastnet_cifar10")
    x = _image()
    neuron = bcos_core.explain_neuron(model, x, "block2.conv2", 7)  # at its maximum
    expl = explain_channels(model, x, "block1.conv2", Neuron("block2.conv2", 7))
    assert expl.target == Neuron("block2.conv2", 7, neuron.position)
    assert expl.value == pytest.approx(neuron.logit, rel=1e-6) and expl.bias == 0.0
    assert expl.completeness_error < 1e-5
    # the neuron's pixel-level explanation and its channel-level one describe the same number
    assert float(expl.contributions.sum()) == pytest.approx(float(neuron.contributions.sum()), rel=1e-4)
    elsewhere = explain_channels(model, x, "stem", Neuron("block2.conv2", 7, (0, 0)))
    assert elsewhere.target.position == (0, 0) and elsewhere.completeness_error < 1e-5


def test_layers_that_do_not_cut_the_network_are_refused_with_the_ones_that_do() -> None:
    model = random_model("bcos_resnet20_cifar10")
    x = _image()
    with pytest.raises(ValueError, match="skip connection goes around it.*layer1.0"):
        explain_channels(model, x, "layer1.0.conv1", 0)  # inside a residual block
    with pytest.raises(ValueError, match="not below the neuron's layer"):
        explain_channels(model, x, "layer3.0", Neuron("layer2.0.conv1", 0))
    with pytest.raises(ValueError, match="has 32 channels"):
        explain_channels(model, x, "conv1", Neuron("layer2.0.conv1", 99))


def test_the_patch_embedding_cut_of_a_vit_reports_the_positional_embedding_above_it() -> None:
    model = random_model("bcos_vitc_ti_patch1_14")
    x = _image(14)
    below = explain_channels(model, x, "to_patch_embedding.linear", 2)
    above = explain_channels(model, x, "transformer.encoder_0", 2)
    assert set(below.constant_terms) == {"positional embedding"} and abs(below.constant_terms["positional embedding"]) > 0
    assert above.constant_terms == {}  # the embedding is inside the encoder's input, so inside its contributions
    assert below.contributions.shape == (192, 1, 1) and above.contributions.shape == (192, 1, 1)  # tokens as their grid
    assert below.completeness_error < 1e-5 and above.completeness_error < 1e-5
    pixels = bcos_core.explain(model, x, 2)
    assert pixels.constant_terms["positional embedding"] == pytest.approx(below.constant_terms["positional embedding"], rel=1e-4)


@pytest.mark.parametrize("target", [4, (4, 1), Neuron("block3.conv2", 11)])
def test_a_circuit_is_exact_at_every_layer_and_every_node(target) -> None:
    model = random_model("bcos_fastnet_cifar10")
    x = _image(seed=3)
    layers = ["block2.conv2", "block3.conv1"] if isinstance(target, Neuron) else ["block3.conv1", "classifier", "block3.conv2"]
    circuit = explain_circuit(model, x, target, layers, top_k=5)
    assert circuit.layers == sorted(layers, key=circuit_layers(model).index, reverse=True)  # top to bottom
    for layer in circuit.layers:
        assert circuit.completeness_error(layer) < 1e-5
        assert len(circuit.nodes[layer]) == 5
        single = explain_channels(model, x, layer, target)
        assert torch.allclose(circuit.totals[layer], single.channel_totals, rtol=1e-5, atol=1e-7)
        magnitudes = [abs(node.contribution) for node in circuit.nodes[layer]]
        assert magnitudes == sorted(magnitudes, reverse=True) and magnitudes[0] == pytest.approx(float(single.channel_totals.abs().max()))
    for upper, lower in zip(circuit.layers, circuit.layers[1:]):
        for node in circuit.nodes[upper]:
            incoming = circuit.inputs[(upper, node.channel)]
            assert float(incoming.double().sum()) + circuit.node_terms[(upper, node.channel)] == pytest.approx(
                node.contribution, rel=1e-4, abs=1e-6
            )
            edge = next(e for e in circuit.edges if e.upper == (upper, node.channel) and e.lower[1] == circuit.nodes[lower][0].channel)
            assert edge.contribution == pytest.approx(float(incoming[circuit.nodes[lower][0].channel]))
    assert [e.contribution for e in circuit.edges if e.upper is None] == [n.contribution for n in circuit.nodes[circuit.layers[0]]]


def test_an_edge_is_the_lower_channels_share_of_the_upper_channels_contribution() -> None:
    """Independent check of one edge: the upper channel's contribution is linear in a_lower; masking the upper layer's
    gradient to that channel and pushing a single lower channel's tangent forward gives the edge."""
    model = random_model("bcos_fastnet_cifar10")
    x = _image(seed=5)
    circuit = explain_circuit(model, x, 2, ["block3.conv1", "block3.conv2"], top_k=3)
    upper_channel = circuit.nodes["block3.conv2"][0].channel
    lower_channel = circuit.nodes["block3.conv1"][0].channel
    with running_statistics(model), explanation_mode(model), torch.enable_grad():
        logits, outputs = forward_through(model, x[None], ["block3.conv2"])
        (upper_gradient,) = torch.autograd.grad(logits[0, 2], outputs["block3.conv2"])
    modules = dict(model.named_modules())

    def inject(_module, _inputs, output):
        tangent = torch.zeros_like(output)
        tangent[:, lower_channel] = output[:, lower_channel]
        return forward_ad.make_dual(output, tangent)

    handle = modules["block3.conv1"].register_forward_hook(inject)
    captured = {}
    read = modules["block3.conv2"].register_forward_hook(lambda _m, _i, out: captured.setdefault("t", forward_ad.unpack_dual(out).tangent))
    try:
        with forward_ad.dual_level(), explanation_mode(model), running_statistics(model), torch.no_grad():
            model(x[None])
    finally:
        handle.remove()
        read.remove()
    expected = float((upper_gradient[:, upper_channel] * captured["t"][:, upper_channel]).sum())
    edge = next(e for e in circuit.edges if e.upper == ("block3.conv2", upper_channel) and e.lower == ("block3.conv1", lower_channel))
    assert edge.contribution == pytest.approx(expected, rel=1e-4, abs=1e-7)


def test_contributions_over_images_equal_one_image_at_a_time() -> None:
    model = random_model("bcos_fastnet_cifar10")
    images = torch.stack([_image(seed=s) for s in range(4)])
    positions = [None, (1, 2), None, (3, 3)]
    neuron = Neuron("block3.conv1", 5)
    batched = channel_totals_over_images(model, images, "block2.conv2", neuron, positions)
    assert batched.shape == (4, 256)
    for image, position, row in zip(images, positions, batched):
        single = explain_channels(model, image, "block2.conv2", Neuron(neuron.layer, neuron.channel, position))
        assert torch.allclose(row, single.channel_totals, rtol=1e-4, atol=1e-6)


def test_layers_below_a_target_are_the_cuts_before_it_nearest_first() -> None:
    fastnet, resnet = random_model("bcos_fastnet_cifar10"), random_model("bcos_resnet20_cifar10")
    assert layers_below(fastnet) == ["block3.conv2", "block3.conv1", "block2.conv2", "block2.conv1", "block1.conv2", "block1.conv1", "stem"]
    assert layers_below(fastnet, "block2.conv1") == ["block1.conv2", "block1.conv1", "stem"]
    assert layers_below(resnet, "layer1.1.conv2") == ["layer1.0", "conv1"]  # not its own block
    x = _image()
    for layer in layers_below(resnet, "layer2.0.conv1"):
        assert explain_channels(resnet, x, layer, Neuron("layer2.0.conv1", 3)).completeness_error < 1e-5


def test_the_command_line_lists_the_channels_that_drive_a_class(tmp_path, capsys) -> None:
    import json

    from PIL import Image

    from bcos_core.circuits import main

    path = tmp_path / "image.png"
    Image.fromarray((torch.rand(32, 32, 3) * 255).byte().numpy()).save(path)
    assert main([str(path), "--target", "cat", "--layer", "block2.conv2", "--top", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["class"] == "cat" and report["layer"] == "block2.conv2" and len(report["for"]) <= 3
    assert report["sum_of_channel_contributions"] + report["bias"] == pytest.approx(report["logit"], abs=2e-5)
    contributions = [row["contribution"] for row in report["for"]]
    assert contributions == sorted(contributions, reverse=True) and all(c > 0 for c in contributions)
