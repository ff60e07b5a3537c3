"""Explanation latency of the CIFAR ResNet-20: one class, all 10 classes at once, and 10 separate calls (JSON).

python -m benchmarks.bench_explain [--threads 2]
"""

from __future__ import annotations

import argparse
import json

import torch

import bcos_core
from bcos_core.zoo import random_model

from ._timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = random_model("bcos_resnet20_cifar10")
    image = torch.rand(3, 32, 32)
    x = torch.cat([image, 1 - image])
    one = median_seconds(lambda: bcos_core.explain(model, x, 0), args.repeats, warmup=5)
    all_ten = median_seconds(lambda: bcos_core.explain_classes(model, x, "all"), args.repeats, warmup=5)
    separate = median_seconds(lambda: [bcos_core.explain(model, x, c) for c in range(10)], max(3, args.repeats // 4), warmup=1)
    print(
        json.dumps(
            {
                "benchmark": "explanation_latency_cifar_resnet20",
                "threads": args.threads,
                "one_class_ms": round(1000 * one, 2),
                "all_10_classes_ms": round(1000 * all_ten, 2),
                "ten_separate_calls_ms": round(1000 * separate, 2),
                "all_10_vs_one": round(all_ten / one, 2),
                "all_10_vs_ten_separate": round(all_ten / separate, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
