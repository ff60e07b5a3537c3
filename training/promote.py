"""Replace a shipped model by a newly trained one only when it is better on the test set.

    python -m training.promote runs/<run>/model <registered model name, or a model path>

Compares the ``test_accuracy`` recorded in the two models' metadata (both measured by training on the same test
split) and copies the candidate's weights and metadata over the shipped files, atomically, when it is higher. For a
registered model, the registry's ``sha256`` and ``accuracy`` follow, and its ``arch_kwargs`` when the candidate is the same
architecture built with other arguments (a wider network).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from bcos_core import registry
from bcos_core.checkpoints import checkpoint_paths, read_metadata, store_half_precision
from bcos_core.files import atomic_write_bytes, sha256_of

# A Hugging Face Space (where the dashboard is hosted) takes files up to 10 MB without Git-LFS: larger weights are
# shipped in float16 (computed in float32 after loading) and must be measured again (scripts/after_promotion.sh does).
SHIPPED_FILE_LIMIT_BYTES = 10 * 1024 * 1024


def test_accuracy(path: str | Path) -> float:
    """The model's recorded test accuracy; NaN when it was not evaluated."""
    value = read_metadata(path).metrics.get("test_accuracy", math.nan)
    return float(value) if value is not None else math.nan


def promote(candidate: str | Path, shipped: str | Path, file_limit: int = SHIPPED_FILE_LIMIT_BYTES) -> bool:
    """Copy ``candidate`` over ``shipped`` (a registered name or a path) when its test accuracy is higher (or nothing is
    shipped yet); weights larger than ``file_limit`` bytes are shipped in float16."""
    name = str(shipped) if registry.is_registered(str(shipped)) else None
    shipped = registry.get_entry(name).weights_path if name else shipped
    new = test_accuracy(candidate)
    if math.isnan(new):
        raise ValueError(f"{candidate}: no test accuracy recorded; evaluate it before promoting")
    shipped_weights, _ = checkpoint_paths(shipped)
    old = test_accuracy(shipped) if shipped_weights.exists() else -math.inf
    if new <= old:
        return False
    arch_update = _architecture_update(name, candidate) if name else {}
    for source, target in zip(checkpoint_paths(candidate), checkpoint_paths(shipped)):
        atomic_write_bytes(target, source.read_bytes())
    if shipped_weights.stat().st_size > file_limit:
        store_half_precision(shipped)
    if name:
        registry.update_entry(name, sha256=sha256_of(checkpoint_paths(shipped)[0]), accuracy=round(new, 4), **arch_update)
    return True


def _architecture_update(name: str, candidate: str | Path) -> dict:
    """The registry fields a candidate changes besides its weights: ``arch_kwargs`` when it is the same architecture
    built differently (a wider network); a different architecture is refused (its entry describes another model)."""
    entry, metadata = registry.get_entry(name), read_metadata(candidate)
    if metadata.arch != entry.arch:
        raise ValueError(f"{candidate}: is a {metadata.arch}, {name} is registered as a {entry.arch}; register it as a new model")
    return {} if metadata.arch_kwargs == entry.arch_kwargs else {"arch_kwargs": metadata.arch_kwargs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("candidate", help="the new model (path without suffix, or its .safetensors/.json)")
    parser.add_argument("shipped", help="the shipped model it may replace")
    args = parser.parse_args(argv)
    shipped = registry.get_entry(args.shipped).weights_path if registry.is_registered(args.shipped) else args.shipped
    old = test_accuracy(shipped) if checkpoint_paths(shipped)[0].exists() else math.nan
    replaced = promote(args.candidate, args.shipped)
    verdict = "replaced" if replaced else "kept"
    print(f"{args.shipped}: {verdict} (shipped {old:.2%}, candidate {test_accuracy(args.candidate):.2%})")
    if replaced and checkpoint_paths(shipped)[0].stat().st_size < checkpoint_paths(args.candidate)[0].stat().st_size:  # halved
        print(
            f"{args.shipped}: weights stored in float16 (over {SHIPPED_FILE_LIMIT_BYTES // 2**20} MiB in float32): measure it again "
            f"(python -m training.evaluate --model {args.shipped} --write-metadata, or scripts/after_promotion.sh)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
