"""Evaluate a model on an ImageFolder test set and print JSON.

    python -m training.evaluate [--model cifar10_fastnet_b2 | path/to/model.safetensors] [--data ../shared/data/cifar10/test]

Prints accuracy, per-class accuracy, the confusion matrix (rows: true, columns: predicted) and throughput.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from bcos_core.checkpoints import CheckpointError
from bcos_core.metrics import evaluate_classifier
from bcos_core.zoo import DEFAULT_MODEL, load_model

from .data import default_data_root, load_image_folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="shipped model name or checkpoint path (default: %(default)s)")
    parser.add_argument("--data", default=None, help="ImageFolder test split (default: $BCOS_DATA_DIR/cifar10/test)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (faster on CPUs with AMX)")
    parser.add_argument("--cache-dir", default=".cache/data")
    parser.add_argument("--write-metadata", action="store_true", help="store the measured accuracy in the model file's JSON metadata")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        loaded = load_model(args.model)
        data_path = Path(args.data) if args.data else default_data_root() / "cifar10" / "test"
        data = load_image_folder(data_path, args.cache_dir or None, loaded.metadata.input_size)
    except (CheckpointError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if data.classes != loaded.class_names:
        print(f"error: the data's classes {data.classes} differ from the model's {loaded.class_names}", file=sys.stderr)
        return 2
    report = evaluate_classifier(loaded.model, data.images, data.labels, data.classes, args.batch_size, args.bf16, progress=True)
    report = {"model": loaded.name, "data": str(data_path), **report}
    print(json.dumps(report, indent=2))
    if args.write_metadata:
        _record_accuracy(args.model, report)
    return 0


def _record_accuracy(model: str, report: dict) -> None:
    """Write the measured accuracy into the model's metadata (``metrics.test_accuracy``), atomically."""
    from dataclasses import asdict

    from bcos_core.checkpoints import atomic_write_bytes, checkpoint_paths, read_metadata
    from bcos_core.zoo import MODELS_DIR, list_shipped_models

    path = MODELS_DIR / model if model in list_shipped_models() else Path(model)
    metadata = read_metadata(path)
    metadata.metrics.update(test_accuracy=round(report["accuracy"], 4), test_images=report["num_images"], test_data="CIFAR-10 test split, JPEG copy (not bit-identical to the official batches)")
    atomic_write_bytes(checkpoint_paths(path)[1], json.dumps(asdict(metadata), indent=2).encode())


if __name__ == "__main__":
    sys.exit(main())
