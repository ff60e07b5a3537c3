"""B-cos ViT explanation latency (JSON): ours against the official package on the same weights, interleaved.

    python -m benchmarks.bench_vit [--threads 2] [--repeats 5] [--arch simple_vit_ti_patch16_224]

Random weights in the official format, loaded into both. Per round: one class explained (ours ``bcos_core.explain``;
official ``model.explain``, one forward and one backward in its explanation mode) and the top 10 classes (ours: one
forward, one batched backward; official: 10 calls, as its API explains one class per call). 224 px input.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch

import bcos_core
from bcos_core.checkpoints import load_state_into
from bcos_core.models import build_model
from bcos_core.official import read_official_state_dict

from ._timing import interleaved_seconds, print_report, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--arch", default="simple_vit_ti_patch16_224")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import bcos  # the official package: a test and benchmark oracle only

    torch.manual_seed(0)
    official = getattr(bcos.pretrained, args.arch)(pretrained=False).eval()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "official.pth"
        torch.save(official.state_dict(), path)
        ours = build_model(f"bcos_{args.arch}")
        load_state_into(ours, read_official_state_dict(path), str(path))
    ours.eval()
    image = torch.rand(1, 3, 224, 224)
    x = torch.cat([image, 1 - image], 1)
    top = bcos_core.class_logits(ours, x).topk(10).indices.tolist()
    times = interleaved_seconds(
        {
            "ours_one_class": lambda: bcos_core.explain(ours, x, top[0]),
            "official_one_class": lambda: official.explain(x.clone(), idx=top[0]),
            "ours_ten_classes": lambda: bcos_core.explain_classes(ours, x, top),
            "official_ten_classes": lambda: [official.explain(x.clone(), idx=c) for c in top],
        },
        args.repeats,
        warmup=1,
    )
    print_report(
        "vit_explanations",
        {
            "arch": args.arch,
            **{f"{name}_ms": round(1000 * statistics.median(values), 1) for name, values in times.items()},
            "one_class_ours_vs_official": ratio(times, "ours_one_class", "official_one_class"),
            "ten_classes_ours_vs_official": ratio(times, "ours_ten_classes", "official_ten_classes"),
            "ten_vs_one_ours": ratio(times, "ours_ten_classes", "ours_one_class"),
        },
    )


if __name__ == "__main__":
    main()
