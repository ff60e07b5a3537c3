"""A model shared by many app sessions: library calls from several threads give exactly the single-threaded results,
and no call changes the model (no hooks, no mode flags, no statistics)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

import bcos_core
from bcos_core.attribution import attribution_method
from bcos_core.circuits import Neuron, explain_channels, explain_circuit
from bcos_core.explain import layer_outputs, predicted_linear_maps
from bcos_core.layers import forward_to, running_statistics
from bcos_core.metrics import predict_logits
from bcos_core.zoo import random_model


def _images(n: int, seed: int) -> torch.Tensor:
    x = torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    return torch.cat([x, 1 - x], dim=1)


def _calls(model: torch.nn.Module) -> dict[str, callable]:
    x, batch = _images(1, 1)[0], _images(3, 2)
    return {
        "activations": lambda: bcos_core.layer_activations(model, x, "block2.conv2"),
        "classes": lambda: torch.stack([e.linear_map for e in bcos_core.explain_classes(model, x, [0, 3, 7])]),
        "delta": lambda: bcos_core.explain_delta(model, x, 1, 2).contributions,
        "neuron": lambda: bcos_core.explain_neuron(model, x, "block1.norm1", 4).linear_map,
        "neurons batched": lambda: torch.stack([e.linear_map for e in bcos_core.explain_neurons(model, batch, "block3.conv1", 2)]),
        "logits": lambda: bcos_core.class_logits(model, x),
        "predicted maps": lambda: predicted_linear_maps(model, batch)[1],
        "normal-mode gradient": lambda: attribution_method("Input×Gradient", model)(x, [2, 5]),
        "channels of a class": lambda: explain_channels(model, x, "block3.conv1", 4).contributions,
        "channels of a neuron": lambda: explain_channels(model, x, "block1.conv2", Neuron("block2.conv2", 9)).contributions,
        "circuit": lambda: torch.stack(
            list(explain_circuit(model, x, 6, ["classifier", "block3.conv2", "block3.conv1"], 4).inputs.values())
        ),
    }


def _state(model: torch.nn.Module) -> list:
    """Everything a call could change: mode flags, hooks, parameters and buffers."""
    flags = [
        (name, module.training, len(module._forward_hooks), len(module._forward_pre_hooks), len(module._backward_hooks))
        for name, module in model.named_modules()
    ]
    return flags + [(name, value.clone()) for name, value in [*model.named_parameters(), *model.named_buffers()]]


def _assert_same_state(before: list, after: list) -> None:
    assert len(before) == len(after)
    for old, new in zip(before, after):
        if isinstance(old[1], torch.Tensor):
            assert torch.equal(old[1], new[1]), old[0]
        else:
            assert old == new


@pytest.mark.parametrize("training", [False, True])
def test_concurrent_mixed_calls_equal_single_threaded_results(training: bool) -> None:
    model = random_model("bcos_fastnet_cifar10").train(training)  # a model left in training mode must not matter either
    calls = _calls(model)
    expected = {name: call() for name, call in calls.items()}
    before = _state(model)
    schedule = [name for name in calls for _ in range(8)]
    random.Random(0).shuffle(schedule)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda name: (name, calls[name]()), schedule))
    for name, result in results:
        torch.testing.assert_close(result, expected[name], rtol=1e-6, atol=1e-7, msg=lambda m, name=name: f"{name}: {m}")
    _assert_same_state(before, _state(model))


def test_forward_to_reads_several_layers_in_one_pass_and_names_what_it_can_read() -> None:
    model = random_model("bcos_fastnet_cifar10")
    x = _images(2, 3)
    with torch.no_grad(), running_statistics(model):
        outputs = forward_to(model, x, ["stem", "block2.norm1"])
        assert torch.equal(outputs["stem"], model.stem(x))
        assert torch.equal(outputs["block2.norm1"], layer_outputs(model, x, "block2.norm1"))
    with pytest.raises(ValueError, match="B-cos layers, norms and blocks"):
        forward_to(model, x, ["block2"])
    with pytest.raises(KeyError, match="no layer 'nope'"):
        forward_to(model, x, ["nope"])


def test_a_conventional_model_in_training_mode_is_refused_not_switched() -> None:
    model = bcos_core.build_model("conventional_fastnet_cifar10", widths=(8, 8, 16, 16)).train()
    with pytest.raises(ValueError, match="call model.eval"):
        predict_logits(model, torch.rand(2, 3, 32, 32))
    assert model.training
    model.eval()
    before = _state(model)
    attribution_method("Grad-CAM", model)(_images(1, 4)[0], [1, 2])  # Captum hooks go on a private copy
    _assert_same_state(before, _state(model))
