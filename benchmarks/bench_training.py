"""Training steps of our CIFAR ResNet-20 vs the reference ``bcos`` cifar10_resnet20, and of the FastNet layouts we
ship, interleaved (JSON, images/s).

    python -m benchmarks.bench_training [--threads 2] [--batch 128] [--steps 7] [--bf16]

Same batch, same loss and optimiser; every round runs one step of each variant. Ours is measured as written
(eager, fp32) and compiled (torch.compile, what the training script uses; compilation timed separately); the
FastNet compiled in three layouts: 32/64/256/256 without MaxOut (the architecture's default), the same with MaxOut 2
(the B family) and 48/96/384/384 without MaxOut (the default model). ``--bf16`` adds bfloat16 autocast to the
compiled variants (fast only on CPUs with native bf16, e.g. AMX; emulated elsewhere).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from bcos_core.models import build_model
from training.losses import bce_loss

from ._timing import interleaved_seconds, machine, print_report, ratio


def training_step(model: torch.nn.Module, batch: int, bf16: bool, compiled: bool):
    """One optimiser step (BCE, Adam) on a fixed random batch of 32 px images, as a callable."""
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

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--bf16", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import bcos

    norm = bcos.modules.norms.NoBias(bcos.modules.norms.BatchNormUncentered2d)
    steps = {
        "reference_resnet20_fp32": training_step(bcos.models.cifar10_resnet20(norm_layer=norm), args.batch, False, False),
        "ours_resnet20_fp32": training_step(build_model("bcos_resnet20_cifar10"), args.batch, False, False),
        "ours_resnet20_compiled": training_step(build_model("bcos_resnet20_cifar10"), args.batch, args.bf16, True),
        "ours_fastnet_compiled": training_step(build_model("bcos_fastnet_cifar10"), args.batch, args.bf16, True),
        "ours_fastnet_maxout2_compiled": training_step(build_model("bcos_fastnet_cifar10", max_out=2), args.batch, args.bf16, True),
        "ours_fastnet_wide_compiled": training_step(
            build_model("bcos_fastnet_cifar10", widths=(48, 96, 384, 384)), args.batch, args.bf16, True
        ),
    }
    compile_s = {}
    for name in [name for name in steps if name.endswith("_compiled")]:
        started = time.perf_counter()
        steps[name]()
        compile_s[name] = round(time.perf_counter() - started, 1)
    before = machine()
    times = interleaved_seconds(steps, args.steps)
    print_report(
        "training_images_per_second",
        {
            "batch": args.batch,
            "bf16": args.bf16,
            "rounds": args.steps,
            "images_per_second": {k: round(args.batch / statistics.median(v), 1) for k, v in times.items()},
            "speed_vs_reference": {k: ratio(times, "reference_resnet20_fp32", k) for k in times},
            "first_step_with_compilation_s": compile_s,
        },
        before,
    )


if __name__ == "__main__":
    main()
