"""Park a training run's resumable state in the repository, and put it back on another machine.

    python -m training.park runs/<run>              # copy runs/<run>/last.safetensors to parked/<run>.safetensors
    git add parked/<run>.safetensors && git commit  # the state outlives this machine
    python -m training.park --restore runs/<run>    # on the next machine: put it back, then train with --resume

A working period ends after about 3 hours and its machine (with ``runs/``) may not come back, while a 100-epoch run
of the paper's network takes longer. The state is one safetensors file (model, optimiser, weight average, position
and the logged history; no pickle), so parking it loses nothing: ``--resume`` continues bit for bit. Restoring never
replaces a state that is further along than the parked one.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from safetensors import SafetensorError

from bcos_core.files import atomic_path

from .state import STATE_FILE, read_training_info

PARKING = Path("parked")  # tracked in git, unlike runs/


class ParkingError(Exception):
    """A state to park or restore is missing, unreadable or behind the one it would replace."""


def parked_path(run: str | Path, parking: Path = PARKING) -> Path:
    """Where ``run``'s state is parked: ``parked/<run folder name>.safetensors``."""
    return parking / f"{Path(run).name}.safetensors"


def position(state: Path) -> tuple[int, int]:
    """(completed epochs, optimiser steps into the next epoch) of a training state."""
    try:
        progress = read_training_info(state)["progress"]
    except (OSError, KeyError, ValueError, SafetensorError) as error:
        raise ParkingError(f"{state}: not a training state ({error})") from error
    return progress["epoch"], progress["step_in_epoch"]


def _copy(source: Path, target: Path) -> tuple[int, int]:
    where = position(source)
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return where


def park(run: str | Path, parking: Path = PARKING) -> tuple[Path, tuple[int, int]]:
    """Copy ``run``'s resumable state into ``parking``; returns the parked file and the state's position."""
    source = Path(run) / STATE_FILE
    if not source.exists():
        raise ParkingError(f"{source}: no training state (is {run} a training run's folder?)")
    target = parked_path(run, parking)
    return target, _copy(source, target)


def restore(run: str | Path, parking: Path = PARKING) -> tuple[Path, tuple[int, int]]:
    """Copy the parked state back to ``run``/last.safetensors, unless the run's own state is further along."""
    source, target = parked_path(run, parking), Path(run) / STATE_FILE
    if not source.exists():
        raise ParkingError(f"{source}: nothing parked for {run}")
    if target.exists() and position(target) > position(source):
        raise ParkingError(f"{target} is further along ({_describe(position(target))}) than {source} ({_describe(position(source))})")
    return target, _copy(source, target)


def _describe(where: tuple[int, int]) -> str:
    epoch, step = where
    return f"{epoch} epochs done" + (f", {step} steps into epoch {epoch + 1}" if step else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a training run's folder, e.g. runs/cifar10_vgg9_half_b2.5")
    parser.add_argument("--restore", action="store_true", help="put the parked state back into the run's folder")
    parser.add_argument("--parking", type=Path, default=PARKING, help="where parked states live (default: parked/)")
    args = parser.parse_args(argv)
    try:
        written, where = (restore if args.restore else park)(args.run, args.parking)
    except ParkingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {written} ({_describe(where)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
