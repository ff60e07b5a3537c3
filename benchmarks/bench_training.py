"""Training throughput (images/s) of our CIFAR ResNet-20 vs the reference ``bcos`` cifar10_resnet20 (JSON).

    python -m benchmarks.bench_training [--threads 2] [--batch 128]

Same batch, same machine, same loss and optimiser, one run. Ours is measured as written (eager, fp32) and
with the training script's fast settings (bfloat16 autocast + torch.compile); the shipped FastNet is listed too.
"""

from __future__ import annotations

import argparse
import json

import torch

from bcos_core.models import build_model
from training.losses import bce_loss

from ._timing import median_seconds


def _images_per_second(model: torch.nn.Module, batch: int, bf16: bool, compiled: bool, steps: int) -> float:
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    forward = torch.compile(model) if compiled else model
    x, y = torch.rand(batch, 6, 32, 32), torch.randint(0, 10, (batch,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = forward(x)
        loss = bce_loss(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return batch / median_seconds(step, steps, warmup=3 if compiled else 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import bcos

    norm = bcos.modules.norms.NoBias(bcos.modules.norms.BatchNormUncentered2d)
    rows = {
        "reference_resnet20_fp32": _images_per_second(bcos.models.cifar10_resnet20(norm_layer=norm), args.batch, False, False, args.steps),
        "ours_resnet20_fp32": _images_per_second(build_model("bcos_resnet20_cifar10"), args.batch, False, False, args.steps),
        "ours_resnet20_bf16_compiled": _images_per_second(build_model("bcos_resnet20_cifar10"), args.batch, True, True, args.steps),
        "ours_fastnet_bf16_compiled": _images_per_second(build_model("bcos_fastnet_cifar10"), args.batch, True, True, args.steps),
    }
    reference = rows["reference_resnet20_fp32"]
    print(
        json.dumps(
            {
                "benchmark": "training_images_per_second",
                "batch": args.batch,
                "threads": args.threads,
                "images_per_second": {k: round(v, 1) for k, v in rows.items()},
                "ratio_vs_reference": {k: round(v / reference, 2) for k, v in rows.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
