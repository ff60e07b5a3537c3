"""Replace a shipped model by a newly trained one only when it is better on the test set.

    python -m training.promote runs/<run>/model <registered model name, or a model path>
    python -m training.promote RUN_1 NAME_1 RUN_2 NAME_2 ...   # a family: all or none

Compares the ``test_accuracy`` recorded in the two models' metadata (both measured by training on the same test
split) and copies the candidate's weights and metadata over the shipped files, atomically, when it is higher. For a
registered model, the registry's ``sha256`` and ``accuracy`` follow, and its ``arch_kwargs`` when the candidate is the same
architecture built with other arguments (a wider network). Several pairs are promoted together only when every
candidate is better: a family trained with one recipe is never mixed with its predecessor. Exit status 0 when the
models were replaced, 1 when the shipped ones were kept (so ``promote … && bash scripts/after_promotion.sh …`` rebuilds
only after a replacement).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import NamedTuple

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


class _Plan(NamedTuple):
    """What promoting one candidate would do."""

    name: str | None  # the registered name, or None for a plain path
    path: Path  # the shipped weights
    better: bool  # the candidate's test accuracy is higher (or nothing is shipped)
    accuracy: float  # the candidate's
    shipped_accuracy: float  # NaN when nothing is shipped yet
    arch_update: dict  # registry fields besides the weights that change


def promote(candidate: str | Path, shipped: str | Path, file_limit: int = SHIPPED_FILE_LIMIT_BYTES) -> bool:
    """Copy ``candidate`` over ``shipped`` (a registered name or a path) when its test accuracy is higher (or nothing is
    shipped yet); weights larger than ``file_limit`` bytes are shipped in float16."""
    return promote_together([(candidate, shipped)], file_limit)


def promote_together(pairs: list[tuple[str | Path, str | Path]], file_limit: int = SHIPPED_FILE_LIMIT_BYTES) -> bool:
    """Promote every (candidate, shipped) pair, or none when any candidate is not more accurate than the model it would
    replace: a family trained with one recipe (the B family) is replaced whole, never mixed with its predecessor."""
    plans = [_plan(candidate, shipped) for candidate, shipped in pairs]
    if not all(plan.better for plan in plans):
        return False
    for (candidate, _), plan in zip(pairs, plans):
        for source, target in zip(checkpoint_paths(candidate), checkpoint_paths(plan.path)):
            atomic_write_bytes(target, source.read_bytes())
        if checkpoint_paths(plan.path)[0].stat().st_size > file_limit:
            store_half_precision(plan.path)
        if plan.name:
            sha256 = sha256_of(checkpoint_paths(plan.path)[0])
            registry.update_entry(plan.name, sha256=sha256, accuracy=round(plan.accuracy, 4), **plan.arch_update)
    return True


def shipped_runs(shipped: str | Path) -> list[str]:
    """The run folders the shipped model (a registered name or a path) came from, its own first, then the runs it was
    initialised from; empty when nothing is shipped. A training script skips a cycle listed here, even on a machine
    whose ``runs/`` is gone."""
    _, path = _shipped_path(shipped)
    if not checkpoint_paths(path)[1].exists():
        return []
    return [run.get("config", {}).get("run", {}).get("out_dir") for run in read_metadata(path).training_lineage]


def _shipped_path(shipped: str | Path) -> tuple[str | None, Path]:
    """The registered name (None for a plain path) and the weights path of a shipped model."""
    name = str(shipped) if registry.is_registered(str(shipped)) else None
    return name, registry.get_entry(name).weights_path if name else Path(shipped)


def _plan(candidate: str | Path, shipped: str | Path) -> _Plan:
    """What promoting ``candidate`` over ``shipped`` would do. Raises for an unevaluated candidate or one of another
    architecture than the registered model."""
    name, path = _shipped_path(shipped)
    new = test_accuracy(candidate)
    if math.isnan(new):
        raise ValueError(f"{candidate}: no test accuracy recorded; evaluate it before promoting")
    exists = checkpoint_paths(path)[0].exists()
    old = test_accuracy(path) if exists else math.nan
    arch_update = _architecture_update(name, candidate) if name else {}
    return _Plan(name, path, new > old if exists else True, new, old, arch_update)


def _architecture_update(name: str, candidate: str | Path) -> dict:
    """The registry fields a candidate changes besides its weights: ``arch_kwargs`` when it is the same architecture
    built differently (a wider network); a different architecture is refused (its entry describes another model)."""
    entry, metadata = registry.get_entry(name), read_metadata(candidate)
    if metadata.arch != entry.arch:
        raise ValueError(f"{candidate}: is a {metadata.arch}, {name} is registered as a {entry.arch}; register it as a new model")
    return {} if metadata.arch_kwargs == entry.arch_kwargs else {"arch_kwargs": metadata.arch_kwargs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "pairs",
        nargs="+",
        metavar="CANDIDATE SHIPPED",
        help="the new model (path without suffix, or its .safetensors/.json), then the shipped model it may replace; "
        "several pairs are promoted all or none",
    )
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        parser.error("give the models in pairs: CANDIDATE SHIPPED [CANDIDATE SHIPPED ...]")
    pairs = list(zip(args.pairs[::2], args.pairs[1::2]))
    plans = [_plan(candidate, shipped) for candidate, shipped in pairs]  # read before the shipped files change
    sizes = [checkpoint_paths(candidate)[0].stat().st_size for candidate, _ in pairs]
    replaced = promote_together(pairs)
    verdict = "replaced" if replaced else "kept" + (" (all or none: a candidate is not better)" if len(pairs) > 1 else "")
    for (_, shipped), plan, size in zip(pairs, plans, sizes):
        print(f"{shipped}: {verdict} (shipped {plan.shipped_accuracy:.2%}, candidate {plan.accuracy:.2%})")
        if replaced and checkpoint_paths(plan.path)[0].stat().st_size < size:  # halved
            print(
                f"{shipped}: weights stored in float16 (over {SHIPPED_FILE_LIMIT_BYTES // 2**20} MiB in float32): measure it again "
                f"(python -m training.evaluate --model {shipped} --write-metadata, or scripts/after_promotion.sh)"
            )
    return 0 if replaced else 1


if __name__ == "__main__":
    sys.exit(main())
