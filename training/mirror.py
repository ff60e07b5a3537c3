"""Make a mirror-averaging copy of a trained model: the same weights, logits averaged over the image and its mirror image.

    python -m training.mirror runs/<run>/model runs/<run>_mirror/model
    python -m training.evaluate --model runs/<run>_mirror/model.safetensors --write-metadata --compile off

Averaging over left–right mirroring (airbench's test-time flip, built into the model) costs a second pass of the
trunk and keeps every explanation exact: the mean of two dynamic linear maps is one. The copy's metadata keeps the
single pass's accuracy as ``single_pass_test_accuracy`` and drops the rest of the measured metrics, which belonged to
the single pass, so the copy must be evaluated before promotion.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bcos_core.checkpoints import CheckpointError, checkpoint_paths, read_metadata, write_metadata
from bcos_core.files import atomic_write_bytes
from bcos_core.models import build_model

from ._export_cli import report_written


def write_mirrored(source: str | Path, target: str | Path) -> Path:
    """Write ``target`` (.safetensors + .json): ``source``'s weights with ``mirror_average`` set; returns its weights path."""
    metadata = read_metadata(source)
    if metadata.arch_kwargs.get("mirror_average"):
        raise ValueError(f"{source} already averages over mirror images")
    metadata.arch_kwargs = {**metadata.arch_kwargs, "mirror_average": True}
    try:
        build_model(metadata.arch, **metadata.arch_kwargs)  # only architectures that take the option build
    except TypeError as error:
        raise ValueError(f"{metadata.arch} cannot average over mirror images ({error})") from None
    single = metadata.metrics.get("test_accuracy")
    metadata.metrics = {"single_pass_test_accuracy": single} if single is not None else {}
    source_weights, _ = checkpoint_paths(source)
    target_weights, _ = checkpoint_paths(target)
    target_weights.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target_weights, source_weights.read_bytes())
    write_metadata(target, metadata)
    return target_weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="trained model (path without or with .safetensors)")
    parser.add_argument("target", help="where to write the mirror-averaging copy")
    args = parser.parse_args(argv)
    return report_written(lambda: write_mirrored(args.source, args.target), (CheckpointError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
