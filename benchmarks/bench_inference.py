"""Eager versus torch.compile for the inference passes of evaluation and of the neuron-index build (JSON).

    python -m benchmarks.bench_inference [--threads 2] [--repeats 5] [--models default,resnet50]

Per model, every repeat runs each variant once, interleaved: the plain forward pass that evaluation uses (running
statistics, no gradients) eager and compiled, and the index build's pass (every explorable layer's per-channel maxima
through ``forward_to``) eager and compiled, compiled as evaluation and the index build compile them
(``bcos_core.compilation``). Each compiled variant's first call, its compilation, is timed apart and
turned into the number of images after which compiling pays off. Also printed: how far the compiled results are from
the eager ones (largest difference relative to the largest value). Random weights (the time does not depend on them).
"""

from __future__ import annotations

import statistics
import time

import torch

from bcos_core.compilation import compiled_if_worthwhile
from bcos_core.layers import explorable_layers, running_statistics
from bcos_core.neuron_index._build import layer_maxima_pass
from bcos_core.zoo import random_model

from ._timing import interleaved_seconds, ratio, run_per_model

MODELS = {"default": ("bcos_fastnet_cifar10", 32, 250), "resnet50": ("bcos_resnet50_imagenet", 224, 16)}


def _timed_first_call(fn, x: torch.Tensor) -> tuple[object, float]:
    started = time.perf_counter()
    result = fn(x)
    return result, time.perf_counter() - started


def _relative_difference(a: object, b: object) -> float:
    """Largest |a − b| relative to the largest |b| over the tensors of two results of the same structure (dicts, tuples,
    tensors; other values must be equal, else infinity)."""
    if isinstance(a, torch.Tensor):
        scale = b.abs().max().item() if b.numel() else 0.0
        difference = (a.double() - b.double()).abs().max().item() if b.numel() else 0.0
        return difference / scale if scale else difference
    if isinstance(a, dict):
        a, b = list(a.values()), list(b.values())
    if isinstance(a, (tuple, list)):
        return max((_relative_difference(u, v) for u, v in zip(a, b, strict=True)), default=0.0)
    return 0.0 if a == b else float("inf")


def _measure(arch: str, size: int, batch: int, repeats: int) -> dict:
    model = random_model(arch).eval()
    images = torch.rand(batch, 3, size, size)
    x = torch.cat([images, 1 - images], 1)
    index_pass = layer_maxima_pass(model, explorable_layers(model))
    compiled_forward, compiled_index_pass = (compiled_if_worthwhile(fn, "on", batch) for fn in (model, index_pass))
    with torch.inference_mode(), running_statistics(model):
        forward_result, forward_warmup = _timed_first_call(compiled_forward, x)
        index_result, index_warmup = _timed_first_call(compiled_index_pass, x)
        difference = {
            "forward": _relative_difference(forward_result, model(x)),
            "index_pass": _relative_difference(index_result, index_pass(x)),
        }
        times = interleaved_seconds(
            {
                "forward_eager": lambda: model(x),
                "forward_compiled": lambda: compiled_forward(x),
                "index_pass_eager": lambda: index_pass(x),
                "index_pass_compiled": lambda: compiled_index_pass(x),
            },
            repeats,
            warmup=1,
        )
    per_image = {name: statistics.median(values) / batch for name, values in times.items()}

    def break_even(kind: str, warmup_s: float) -> int | None:
        saved = per_image[f"{kind}_eager"] - per_image[f"{kind}_compiled"]
        return round(warmup_s / saved) if saved > 0 else None

    return {
        "model": arch,
        "input_px": size,
        "batch": batch,
        **{f"{name}_ms_per_image": round(1000 * value, 3) for name, value in per_image.items()},
        "compiled_vs_eager": {
            "forward": ratio(times, "forward_compiled", "forward_eager"),
            "index_pass": ratio(times, "index_pass_compiled", "index_pass_eager"),
        },
        "compilation_s": {"forward": round(forward_warmup, 1), "index_pass": round(index_warmup, 1)},
        "images_until_compiling_pays_off": {
            "forward": break_even("forward", forward_warmup),
            "index_pass": break_even("index_pass", index_warmup),
        },
        "compiled_vs_eager_largest_relative_difference": {k: float(f"{v:.2g}") for k, v in difference.items()},
    }


def main() -> None:
    run_per_model(__doc__.split("\n\n")[0], "inference_eager_vs_compiled", MODELS, _measure, repeats=5)


if __name__ == "__main__":
    main()
