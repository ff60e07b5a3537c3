"""Explaining 10 classes versus one, side by side (JSON): the default CIFAR-10 model at 32 px and ResNet-50 at 224 px.

    python -m benchmarks.bench_explain [--threads 2] [--repeats 7] [--models default,resnet50]

Per model, every repeat runs each variant once, interleaved: the explanation-mode forward pass alone, one class,
10 classes in one call (one forward, one batched backward), and 10 separate one-class calls. Reported: medians, the
ratio 10-classes / one-class with its spread over the repeats, and the ratio a perfect batched backward would reach if
each class's backward pass cost what one class's does: (forward + 10 · (one − forward)) / one, and the ratio of the
arithmetic the two calls do (convolution and matrix-multiply FLOPs counted by ``torch.utils.flop_counter``): an exact
explanation of a class is one backward pass of the linear map W(x) (as many FLOPs as the forward pass), so 10 classes
cost 1 + 10 passes against 1 + 1, 5.5× the FLOPs, whatever the batching; a time ratio below that is batching making
each pass cheaper, not less work. Random weights (the time does not depend on them).
"""

from __future__ import annotations

import statistics

import torch
from torch.utils.flop_counter import FlopCounterMode

import bcos_core
from bcos_core import registry
from bcos_core.layers import explanation_mode, running_statistics
from bcos_core.zoo import random_model

from ._timing import interleaved_seconds, ratio, run_per_model

_DEFAULT = registry.get_entry(registry.default_model())
# the shipped default's architecture as registered (its widths and mirror averaging), and ResNet-50
MODELS = {"default": (_DEFAULT.arch, 32, _DEFAULT.arch_kwargs), "resnet50": ("bcos_resnet50_imagenet", 224, {})}


def _forward(model, x: torch.Tensor) -> None:
    x = x[None].clone().requires_grad_(True)
    with running_statistics(model), explanation_mode(model), torch.enable_grad():
        model(x)


def _flops(fn) -> int:
    """Convolution and matrix-multiply FLOPs of one call (forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def _measure(arch: str, size: int, arch_kwargs: dict, repeats: int) -> dict:
    model = random_model(arch, **arch_kwargs)
    image = torch.rand(3, size, size)
    x = torch.cat([image, 1 - image])
    variants = {
        "forward": lambda: _forward(model, x),
        "one_class": lambda: bcos_core.explain(model, x, 0),
        "ten_classes": lambda: bcos_core.explain_classes(model, x, list(range(10))),
        "ten_separate_calls": lambda: [bcos_core.explain(model, x, c) for c in range(10)],
    }
    times = interleaved_seconds(variants, repeats, warmup=1)
    median = {name: statistics.median(values) for name, values in times.items()}
    bound = (median["forward"] + 10 * (median["one_class"] - median["forward"])) / median["one_class"]
    return {
        "model": arch,
        "arch_kwargs": arch_kwargs,
        "input_px": size,
        **{f"{name}_ms": round(1000 * value, 1) for name, value in median.items()},
        "ten_vs_one": ratio(times, "ten_classes", "one_class"),
        "ten_vs_ten_separate_calls": ratio(times, "ten_classes", "ten_separate_calls"),
        "ten_vs_one_if_backward_per_class_cost_one_class_backward": round(bound, 2),
        "ten_vs_one_flops": round(_flops(variants["ten_classes"]) / _flops(variants["one_class"]), 2),
    }


def main() -> None:
    run_per_model(__doc__.split("\n\n")[0], "explain_classes_vs_one", MODELS, _measure, repeats=7)


if __name__ == "__main__":
    main()
