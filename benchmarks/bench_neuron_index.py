"""Neuron index build time (JSON): a model's data set through every B-cos layer, in one process and as torchrun shards.

    python -m benchmarks.bench_neuron_index [--model NAME] [--data DIR] [--workers 1] [--shards 2]

A full, fresh build (decoding, forward passes, top-k and statistics; no partial saves), in this process; with
``--shards n`` also the same build as ``torchrun --nproc_per_node n`` (one shard per process, merged by rank 0), its
wall time and whether its index equals the single-process one. Builds are long, so each side runs once (n = 1 in
the output); the machine load before and after is printed with them.

    python -m benchmarks.bench_neuron_index --model bcos_resnet50_imagenet:FILE.pth --shards 2   # an ImageNet model on imagenet-samples
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bcos_core.datasets import default_data_root
from bcos_core.layers import explorable_layers
from bcos_core.neuron_index import INDEX_DIR_ENV_VAR, build_index, find_indexes, load_index
from bcos_core.registry import get_dataset
from bcos_core.zoo import DEFAULT_MODEL, load_model

from ._timing import machine, print_report

ROOT = Path(__file__).resolve().parents[1]


def _difference(first, second) -> dict[str, float]:
    """Largest relative difference of the float statistics and the share of equal top-k entries, over all layers."""
    worst, equal, total = 0.0, 0, 0
    for name, stats in first.layers.items():
        other = second.layers[name].tensors(name)
        for field, value in stats.tensors(name).items():
            if value.is_floating_point():
                scale = float(value.abs().max()) or 1.0
                worst = max(worst, float((value - other[field]).abs().max()) / scale)
            else:
                equal += int((value == other[field]).sum())
                total += value.numel()
    return {"max_relative_difference": worst, "equal_integer_entries": round(equal / total, 6)}


def _torchrun(model: str, data: Path, shards: int, index_dir: Path) -> float:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(shards),
        "-m",
        "bcos_core.neuron_index",
    ]
    command += ["build", "--model", model, "--data", str(data), "--threads", str(max(1, (os.cpu_count() or 1) // shards))]
    env = {**os.environ, "PYTHONPATH": str(ROOT), INDEX_DIR_ENV_VAR: str(index_dir)}
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--data", type=Path, help="ImageFolder root (default: the model's data set)")
    parser.add_argument("--workers", type=int, default=1, help="image-decoding worker processes")
    parser.add_argument("--shards", type=int, default=0, help="also build as torchrun shards (0: skip)")
    args = parser.parse_args()
    loaded = load_model(args.model)
    data = args.data or default_data_root() / get_dataset(loaded.metadata.dataset).images
    before = machine()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index = build_index(
            loaded.model,
            loaded.name,
            data,
            loaded.preprocess,
            out_path=Path(tmp) / "index.safetensors",
            save_every=10**9,
            num_workers=args.workers,
            progress=False,
        )
        seconds = time.perf_counter() - start
        size = (Path(tmp) / "index.safetensors").stat().st_size
        sharded = {}
        if args.shards > 1:
            index_dir = Path(tmp) / "sharded"
            wall = _torchrun(args.model, data, args.shards, index_dir)
            os.environ[INDEX_DIR_ENV_VAR] = str(index_dir)
            (merged_path,) = find_indexes(loaded.name)
            sharded = {"processes": args.shards, "seconds": round(wall, 1), **_difference(index, load_index(merged_path))}
    images = index.header["dataset"]["num_images"]
    print_report(
        "neuron_index_build",
        {
            "model": loaded.name,
            "data": str(data),
            "images": images,
            "layers": len(explorable_layers(loaded.model)),
            "channels": sum(s.channels for s in index.layers.values()),
            "k": index.header["k"],
            "decode_workers": args.workers,
            "n": 1,
            "seconds": round(seconds, 1),
            "seconds_per_1000_images": round(seconds / images * 1000, 1),
            "images_per_second": round(images / seconds, 1),
            "index_file_kib": round(size / 1024),
            "torchrun": sharded,
        },
        before,
    )


if __name__ == "__main__":
    main()
