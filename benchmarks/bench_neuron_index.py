"""Neuron index build time (JSON): the CIFAR-10 test set through every B-cos layer of the default model.

    python -m benchmarks.bench_neuron_index [--data DIR] [--workers 1]

A full, fresh build (decoding, forward passes, top-k and statistics; no partial saves), in one process.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from bcos_core.datasets import default_data_root
from bcos_core.layers import explorable_layers
from bcos_core.neuron_index import build_index
from bcos_core.zoo import DEFAULT_MODEL, load_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=default_data_root() / "cifar10" / "test")
    parser.add_argument("--workers", type=int, default=1, help="image-decoding worker processes")
    args = parser.parse_args()
    loaded = load_model(DEFAULT_MODEL)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index = build_index(
            loaded.model,
            loaded.name,
            args.data,
            loaded.preprocess,
            out_path=Path(tmp) / "index.safetensors",
            save_every=10**9,
            num_workers=args.workers,
            progress=False,
        )
        seconds = time.perf_counter() - start
        size = (Path(tmp) / "index.safetensors").stat().st_size
    images = index.header["dataset"]["num_images"]
    print(
        json.dumps(
            {
                "benchmark": "neuron_index_build",
                "model": loaded.name,
                "images": images,
                "layers": len(explorable_layers(loaded.model)),
                "channels": sum(s.channels for s in index.layers.values()),
                "k": index.header["k"],
                "torch_threads": torch.get_num_threads(),
                "decode_workers": args.workers,
                "seconds": round(seconds, 1),
                "images_per_second": round(images / seconds, 1),
                "index_file_kib": round(size / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
