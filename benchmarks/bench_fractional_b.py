"""Compiled training steps of the paper's network (half width, bf16 + compile as training runs it) at fractional B:
our B-cos scale (sqrt for half-integer B, scale recomputed in the backward pass) vs plain autograd of the pow
formula it replaced, with B = 2 (its own fused scale) as the yardstick; interleaved in one run (JSON).

    python -m benchmarks.bench_fractional_b [--threads 2] [--repeats 7] [--steps 5]

B = 1.5 and 2.5 are the family members whose 100-epoch runs take longest; every round runs ``--steps`` optimiser
steps of each variant on the same batch (64 images, the paper's recipe).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import Tensor

from bcos_core.layers import BcosConv2d
from bcos_core.layers._scaling import max_out_reduce
from bcos_core.models import build_model
from training.hardware import resolve_bf16

from ._timing import interleaved_seconds, machine, print_report, ratio
from .bench_training import training_step

PAPER_NETWORK_HALF = {"widths": [32, 32, 64, 64, 64, 128, 128, 128]}  # configs/cifar10_vgg9_half.toml


class _PowScaleConv(BcosConv2d):
    """The layer with plain autograd of (|lin|/n + ε)^(B−1)·lin: how the scale was computed before."""

    def forward(self, x: Tensor) -> Tensor:
        linear = F.conv2d(x, self.normalized_weight(), None, self.stride, self.padding, self.dilation, self.groups)
        linear = max_out_reduce(linear, self.max_out, dim=1)
        output = ((linear / self.patch_norms(x)).abs() + 1e-6).pow(self.b - 1) * linear
        return output if self.layer_scale == 1.0 else output / self.layer_scale


def paper_network(b: float, layer: type[BcosConv2d] = BcosConv2d) -> torch.nn.Module:
    """The paper's network at half width (as configs/cifar10_vgg9_half.toml trains it), its B-cos convs run as ``layer``."""
    model = build_model("bcos_vgg9_cifar10", b=b, **PAPER_NETWORK_HALF)
    for module in model.modules():
        if type(module) is BcosConv2d:
            module.__class__ = layer
    return model


def training_steps(model: torch.nn.Module, steps: int, bf16: bool):
    """``steps`` compiled optimiser steps on one fixed batch (64 images); returns the callable and the first call's time
    (the compilation)."""
    step = training_step(model, 64, bf16, compiled=True)

    def run() -> None:
        for _ in range(steps):
            step()

    started = time.perf_counter()
    run()
    return run, time.perf_counter() - started


def compare_training_steps(benchmark: str, description: str, networks: dict, ratios: dict) -> None:
    """Command line (``--threads``, ``--repeats``, ``--steps``), then compiled bf16 training steps of every network
    (name → layer-swapped model, built here) timed interleaved, and the report with each ratio (name → (slower, faster))."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bf16 = resolve_bf16(True)
    before = machine()
    variants, compile_s = {}, {}
    for name, (b, layer) in networks.items():
        variants[name], compile_s[name] = training_steps(paper_network(b, layer), args.steps, bf16)
    times = interleaved_seconds(variants, args.repeats, warmup=1)
    results = {name: round(1000 * statistics.median(seconds) / args.steps, 1) for name, seconds in times.items()}
    figures = {"batch": 64, "bf16": bf16, "steps_per_round": args.steps, "repeats": args.repeats, "ms_per_step": results}
    figures["ratios"] = {name: ratio(times, slower, faster) for name, (slower, faster) in ratios.items()}
    figures |= {"compile_s": {name: round(seconds, 1) for name, seconds in compile_s.items()}, "torch": torch.__version__}
    print_report(benchmark, figures, before)


def main() -> None:
    networks = {"b2": (2.0, BcosConv2d)}
    networks |= {f"b{b:g}_{kind}": (b, _PowScaleConv if kind == "pow" else BcosConv2d) for b in (1.5, 2.5) for kind in ("ours", "pow")}
    ratios = {f"b{b:g}_pow_vs_ours": (f"b{b:g}_pow", f"b{b:g}_ours") for b in (1.5, 2.5)}
    ratios |= {f"b{b:g}_ours_vs_b2": (f"b{b:g}_ours", "b2") for b in (1.5, 2.5)}
    compare_training_steps("fractional_b_training_step", __doc__.split("\n\n")[0], networks, ratios)


if __name__ == "__main__":
    main()
