"""Forward+backward time of our BcosConv2d vs nn.Conv2d vs the official bcos layer, interleaved in one run (JSON).

    python -m benchmarks.bench_layers [--threads 2] [--repeats 7]

Shapes: 64→64 channels, 3×3, padding 1, batch 64, 32×32 and 56×56, B = 2 and 2.5. "ours_compiled" is the same
layer under torch.compile (what training uses; its warm-up, the compilation, is timed separately); at B = 2,
"ours_unfused" is the eager layer without its fused autograd node (plain autograd of the same formula). Every round
runs each variant once; ratios are the median of the per-round ratios with their range. Run it once more with
``MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184`` (glibc keeps freed buffers instead of handing
them back to the system) to see how much of the eager overhead is the allocator; the JSON says which settings ran.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch import nn

from bcos_core.layers import BcosConv2d

from ._timing import interleaved_seconds, machine, print_report, ratio


class _Unfused(BcosConv2d):
    """The eager layer without its fused B = 2 autograd node."""

    _fuses_eagerly = False


def _fwd_bwd(layer: nn.Module, x: torch.Tensor):
    def run() -> None:
        layer(x).square().mean().backward()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import bcos  # the reference implementation; a test/benchmark dependency only

    before = machine()
    results = []
    for size in (32, 56):
        x = torch.randn(64, 64, size, size, requires_grad=True)
        for b in (2.0, 2.5):
            ours = BcosConv2d(64, 64, 3, padding=1, b=b)
            reference = bcos.modules.BcosConv2d(64, 64, 3, padding=1, b=b)
            reference.linear.weight.data.copy_(ours.weight.data)
            unfused = _Unfused(64, 64, 3, padding=1, b=b)
            unfused.weight.data.copy_(ours.weight.data)
            compiled = torch.compile(ours)
            started = time.perf_counter()
            _fwd_bwd(compiled, x)()
            compile_s = time.perf_counter() - started
            times = interleaved_seconds(
                {
                    "conv2d": _fwd_bwd(nn.Conv2d(64, 64, 3, padding=1, bias=False), x),
                    "ours": _fwd_bwd(ours, x),
                    "ours_compiled": _fwd_bwd(compiled, x),
                    "reference": _fwd_bwd(reference, x),
                    **({"ours_unfused": _fwd_bwd(unfused, x)} if b == 2 else {}),
                },
                args.repeats,
            )
            row = {"size": size, "b": b, **{f"{k}_ms": round(1000 * statistics.median(v), 2) for k, v in times.items()}}
            row["ours_vs_conv2d"] = ratio(times, "ours", "conv2d")
            row["ours_compiled_vs_conv2d"] = ratio(times, "ours_compiled", "conv2d")
            row["ours_vs_reference"] = ratio(times, "ours", "reference")
            if "ours_unfused" in times:
                row["ours_unfused_vs_conv2d"] = ratio(times, "ours_unfused", "conv2d")
            row["compile_warmup_s"] = round(compile_s, 1)
            results.append(row)
    figures = {"batch": 64, "channels": 64, "repeats": args.repeats, "cpu": platform.processor() or platform.machine()}
    print_report("bcos_conv2d_forward_backward", {**figures, "torch": torch.__version__, "results": results}, before)


if __name__ == "__main__":
    main()
