"""Evaluate models on an ImageFolder test set and print JSON: accuracy, or localisation (grid pointing game).

    python -m training.evaluate [--model cifar10_fastnet_b2 | path/to/model.safetensors] [--data ../shared/data/cifar10/test]
    python -m training.evaluate --localisation [--model A --model B …] [--methods all] [--grids 500] [--posthoc-grids 100]
                                [--out results.json] [--plot results.png]
    python -m training.evaluate --quality [--model A --model B …] [--grids 500] [--out quality.json] [--sheet sheet.png]

Accuracy mode prints accuracy, per-class accuracy, the confusion matrix (rows: true, columns: predicted) and
throughput. Localisation mode scores the model-inherent B-cos contributions and the post-hoc methods (Captum) in
the 3×3 grid pointing game of B-cos v2 and saves a box plot.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from bcos_core.attribution import ALL_METHODS
from bcos_core.checkpoints import CheckpointError
from bcos_core.compilation import AUTO_COMPILE_FROM_IMAGES, COMPILE_CHOICES
from bcos_core.files import atomic_write_bytes
from bcos_core.metrics import evaluate_classifier
from bcos_core.zoo import DEFAULT_MODEL, load_model

from .data import default_data_root, load_image_folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        action="append",
        help=f"shipped model name or checkpoint path (default: {DEFAULT_MODEL}); repeat for several models with --localisation",
    )
    parser.add_argument("--data", default=None, help="ImageFolder test split (default: $BCOS_DATA_DIR/cifar10/test)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (faster on CPUs with AMX)")
    parser.add_argument("--cache-dir", default=".cache/data")
    parser.add_argument(
        "--compile",
        choices=COMPILE_CHOICES,
        default="auto",
        help=f"accuracy: run the model under torch.compile (auto: from {AUTO_COMPILE_FROM_IMAGES:,} images, where its warm-up pays off)",
    )
    parser.add_argument("--write-metadata", action="store_true", help="store the measured accuracy in the model file's JSON metadata")
    localisation = parser.add_argument_group("localisation (grid pointing game)")
    localisation.add_argument("--localisation", action="store_true", help="run the grid pointing game instead of measuring accuracy")
    localisation.add_argument("--methods", default="all", help=f"comma-separated methods or 'all' (of: {', '.join(ALL_METHODS)})")
    localisation.add_argument("--grids", type=int, default=500, help="3×3 grids for the B-cos contributions (default: %(default)s)")
    localisation.add_argument("--posthoc-grids", type=int, default=100, help="the first N of those grids for the (slower) post-hoc methods")
    localisation.add_argument("--smooth", type=int, default=1, help="box smoothing before clamping (CIFAR: 1, ImageNet: 15)")
    localisation.add_argument("--out", type=Path, help="also write the JSON here")
    localisation.add_argument(
        "--append",
        action="store_true",
        help="add these models to the results already in --out (same data, grids and smoothing; with --quality the sheet shows all)",
    )
    localisation.add_argument("--plot", type=Path, help="save the box plot (PNG) here")
    quality = parser.add_argument_group("explanation quality (accuracy, localisation at smoothing 3 and 1, alignment, explanation sheet)")
    quality.add_argument("--quality", action="store_true", help="measure explanation quality of every --model (uses --grids, --out)")
    quality.add_argument("--sheet", type=Path, help="with --quality: save the explanation sheet (PNG) here")
    quality.add_argument(
        "--merge",
        type=Path,
        action="append",
        default=[],
        help="with --quality: results of other --quality runs (measured the same way) to include; without --model nothing new is measured",
    )
    quality.add_argument(
        "--colours-only",
        action="store_true",
        help="with --quality --append: measure only the colour agreement of every --model and add it to its row in --out (no sheet)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        models = [load_model(name) for name in args.model or [DEFAULT_MODEL]]
        data_path = Path(args.data) if args.data else default_data_root() / "cifar10" / "test"
        data = load_image_folder(data_path, args.cache_dir or None, models[0].metadata.input_size)
    except (CheckpointError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    mismatched = [m.name for m in models if m.class_names != data.classes]
    if mismatched:
        print(f"error: the data's classes {data.classes} differ from those of {', '.join(mismatched)}", file=sys.stderr)
        return 2
    if args.localisation:
        return _localisation(models, data, data_path, args)
    if args.quality:
        return _quality(models, data, data_path, args)
    loaded = models[0]
    report = evaluate_classifier(
        loaded.model, data.images, data.labels, data.classes, args.batch_size, args.bf16, progress=True, compile=args.compile
    )
    report = {"model": loaded.name, "data": str(data_path), **report}
    print(json.dumps(report, indent=2))
    if args.write_metadata:
        _record_accuracy((args.model or [DEFAULT_MODEL])[0], report)
    return 0


def _localisation(models: list, data, data_path: Path, args: argparse.Namespace) -> int:
    from .localisation import box_plot, merge_results, run

    methods = list(ALL_METHODS) if args.methods == "all" else [m.strip() for m in args.methods.split(",")]
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        print(f"error: unknown methods {unknown}; choose from {list(ALL_METHODS)}", file=sys.stderr)
        return 2
    results = run(models, data, data_path, methods, args.grids, args.posthoc_grids, args.smooth)
    if args.append and args.out and args.out.exists():
        try:
            results = merge_results(json.loads(args.out.read_text()), results)
        except ValueError as error:
            print(f"error: cannot append to {args.out}: {error}", file=sys.stderr)
            return 2
    _write_results(results, args.out)
    if args.plot:
        box_plot(results, args.plot)
    return 0


def _quality(models: list, data, data_path: Path, args: argparse.Namespace) -> int:
    from . import quality

    earlier = [json.loads(args.out.read_text())] if args.append and args.out and args.out.exists() else []
    if args.colours_only:
        if not earlier or args.merge:
            print("error: --colours-only adds to the rows stored in an existing --out (with --append, without --merge)", file=sys.stderr)
            return 2
        try:
            results = quality.add_colours(earlier[0], models, data)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        _write_results(results, args.out)
        return 0
    earlier += [json.loads(path.read_text()) for path in args.merge]
    measured = models if args.model or not args.merge else []  # merging alone measures nothing
    try:
        results = quality.run(measured, data, data_path, args.grids, args.sheet, earlier)
    except CheckpointError as error:  # raised before anything is measured
        advice = "measure without --sheet, or put that model's file back"
        print(f"error: the sheet draws every stored row's model again, and {error}; {advice}", file=sys.stderr)
        return 2
    _write_results(results, args.out)
    return 0


def _write_results(results: dict, out: Path | None) -> None:
    """Print the JSON and write it to ``out`` (atomically) when given."""
    text = json.dumps(results, indent=1)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, (text + "\n").encode())


def _record_accuracy(model: str, report: dict) -> None:
    """Write the measured accuracy into the model's metadata (``metrics.test_accuracy``), atomically."""
    from bcos_core import registry
    from bcos_core.checkpoints import read_metadata, write_metadata

    path = registry.get_entry(model).weights_path if registry.is_registered(model) else Path(model)
    metadata = read_metadata(path)
    metadata.metrics.update(
        test_accuracy=round(report["accuracy"], 4),
        test_images=report["num_images"],
        test_data="CIFAR-10 test split, JPEG copy (not bit-identical to the official batches)",
    )
    write_metadata(path, metadata)
    if registry.is_registered(model):
        registry.update_entry(model, accuracy=round(report["accuracy"], 4))


if __name__ == "__main__":
    sys.exit(main())
