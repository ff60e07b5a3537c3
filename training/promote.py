"""Replace a shipped model by a newly trained one only when it is better on the test set.

    python -m training.promote runs/<run>/model assets/models/<name>

Compares the ``test_accuracy`` recorded in the two models' metadata (both measured by training on the same test
split) and copies the candidate's weights and metadata over the shipped files, atomically, when it is higher.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from bcos_core.checkpoints import atomic_write_bytes, checkpoint_paths, read_metadata


def test_accuracy(path: str | Path) -> float:
    """The model's recorded test accuracy; NaN when it was not evaluated."""
    value = read_metadata(path).metrics.get("test_accuracy", math.nan)
    return float(value) if value is not None else math.nan


def promote(candidate: str | Path, shipped: str | Path) -> bool:
    """Copy ``candidate`` over ``shipped`` when its test accuracy is higher (or nothing is shipped yet)."""
    new = test_accuracy(candidate)
    if math.isnan(new):
        raise ValueError(f"{candidate}: no test accuracy recorded; evaluate it before promoting")
    shipped_weights, _ = checkpoint_paths(shipped)
    old = test_accuracy(shipped) if shipped_weights.exists() else -math.inf
    if new <= old:
        return False
    for source, target in zip(checkpoint_paths(candidate), checkpoint_paths(shipped)):
        atomic_write_bytes(target, source.read_bytes())
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("candidate", help="the new model (path without suffix, or its .safetensors/.json)")
    parser.add_argument("shipped", help="the shipped model it may replace")
    args = parser.parse_args(argv)
    old = test_accuracy(args.shipped) if checkpoint_paths(args.shipped)[0].exists() else math.nan
    replaced = promote(args.candidate, args.shipped)
    verdict = "replaced" if replaced else "kept"
    print(f"{args.shipped}: {verdict} (shipped {old:.2%}, candidate {test_accuracy(args.candidate):.2%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
