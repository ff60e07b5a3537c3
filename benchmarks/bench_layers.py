"""Forward+backward time of our BcosConv2d vs nn.Conv2d vs the official bcos layer, in one run (JSON).

    python -m benchmarks.bench_layers [--threads 2]

Shapes: 64→64 channels, 3×3, padding 1, batch 64, 32×32 and 56×56, B = 2 and 2.5. "ours_compiled" is the
same layer under torch.compile (what training uses).
"""

from __future__ import annotations

import argparse
import json
import platform

import torch
from torch import nn

from bcos_core.layers import BcosConv2d

from ._timing import median_seconds


def _fwd_bwd(layer: nn.Module, x: torch.Tensor):
    def run() -> None:
        layer(x).square().mean().backward()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import bcos  # the reference implementation; a test/benchmark dependency only

    results = []
    for size in (32, 56):
        x = torch.randn(64, 64, size, size, requires_grad=True)
        conv = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        conv_ms = 1000 * median_seconds(_fwd_bwd(conv, x), args.repeats)
        for b in (2.0, 2.5):
            ours = BcosConv2d(64, 64, 3, padding=1, b=b)
            reference = bcos.modules.BcosConv2d(64, 64, 3, padding=1, b=b)
            reference.linear.weight.data.copy_(ours.weight.data)
            row = {"size": size, "b": b, "conv2d_ms": round(conv_ms, 2)}
            row["ours_ms"] = round(1000 * median_seconds(_fwd_bwd(ours, x), args.repeats), 2)
            row["ours_compiled_ms"] = round(1000 * median_seconds(_fwd_bwd(torch.compile(ours), x), args.repeats, warmup=3), 2)
            row["reference_ms"] = round(1000 * median_seconds(_fwd_bwd(reference, x), args.repeats), 2)
            row["ours_vs_conv2d"] = round(row["ours_ms"] / conv_ms, 3)
            row["ours_compiled_vs_conv2d"] = round(row["ours_compiled_ms"] / conv_ms, 3)
            row["ours_vs_reference"] = round(row["ours_ms"] / row["reference_ms"], 3)
            results.append(row)
    print(
        json.dumps(
            {
                "benchmark": "bcos_conv2d_forward_backward",
                "batch": 64,
                "channels": 64,
                "threads": args.threads,
                "cpu": platform.processor() or platform.machine(),
                "torch": torch.__version__,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
