"""Park a training run's resumable state in the repository, and put it back on another machine.

    python -m training.park runs/<run>              # runs/<run>/{last.safetensors, model.*, metrics.jsonl} → parked/
    git add parked/ && git commit                   # the state outlives this machine
    python -m training.park --restore runs/<run>    # on the next machine: put it back, then train with --resume

A working period ends after about 3 hours and its machine (with ``runs/``) may not come back, while a 100-epoch run
of the paper's network takes longer. The state is one safetensors file (model, optimiser, weight average, position
and the logged history; no pickle), so parking it loses nothing: ``--resume`` continues bit for bit; the run's exported
model and metrics log go with it, so a finished run comes back whole. Files are stored in parts below the size a
Hugging Face Space takes without Git-LFS (the repository is the Space), with a manifest that records the parts, each
file's SHA-256 and the state's position. Restoring checks every SHA-256 and never replaces a state that is further
along than the parked one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from safetensors import SafetensorError

from bcos_core.files import atomic_write_bytes

from .promote import SHIPPED_FILE_LIMIT_BYTES
from .state import RUN_EXPORT_NAME, STATE_FILE, read_training_info

PARKING = Path("parked")  # tracked in git, unlike runs/
PART_BYTES = SHIPPED_FILE_LIMIT_BYTES - (1 << 20)
RUN_FILES = (STATE_FILE, f"{RUN_EXPORT_NAME}.safetensors", f"{RUN_EXPORT_NAME}.json", "metrics.jsonl")  # what a run keeps


class ParkingError(Exception):
    """A state to park or restore is missing, unreadable, damaged or behind the one it would replace."""


def manifest_path(run: str | Path, parking: Path = PARKING) -> Path:
    """The manifest of ``run``'s parked state: ``parked/<run folder name>.json`` (its parts lie beside it)."""
    return parking / f"{Path(run).name}.json"


def position(state: Path) -> tuple[int, int]:
    """(completed epochs, optimiser steps into the next epoch) of a training state."""
    try:
        progress = read_training_info(state)["progress"]
    except (OSError, KeyError, ValueError, SafetensorError) as error:
        raise ParkingError(f"{state}: not a training state ({error})") from error
    return progress["epoch"], progress["step_in_epoch"]


def park(run: str | Path, parking: Path = PARKING, part_bytes: int = PART_BYTES) -> tuple[Path, tuple[int, int]]:
    """Copy ``run``'s resumable state and the files it exported (model, its metadata, the metrics log) into
    ``parking`` as parts of at most ``part_bytes`` and a manifest (written last, so a half-written parking is never
    taken for a whole one); returns the manifest and the state's position."""
    run = Path(run)
    if not (run / STATE_FILE).exists():
        raise ParkingError(f"{run / STATE_FILE}: no training state (is {run} a training run's folder?)")
    where = position(run / STATE_FILE)
    manifest = manifest_path(run, parking)
    stem = manifest.with_suffix("").name
    for stale in parking.glob(f"{stem}.*.part*"):
        stale.unlink()
    files = {}
    for name in RUN_FILES:
        if not (run / name).exists():
            continue
        data, parts = (run / name).read_bytes(), []
        for index, start in enumerate(range(0, max(len(data), 1), part_bytes)):
            part = parking / f"{stem}.{name}.part{index:02d}"
            atomic_write_bytes(part, data[start : start + part_bytes])
            parts.append(part.name)
        files[name] = {"parts": parts, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    record = {"epochs_done": where[0], "steps_into_next_epoch": where[1], "files": files}
    atomic_write_bytes(manifest, (json.dumps(record, indent=2) + "\n").encode())
    return manifest, where


def restore(run: str | Path, parking: Path = PARKING) -> tuple[Path, tuple[int, int]]:
    """Join the parked parts back into ``run``'s files, unless any is damaged or the run's own state is further
    along; returns the restored state and its position."""
    run, manifest = Path(run), manifest_path(run, parking)
    if not manifest.exists():
        raise ParkingError(f"{manifest}: nothing parked for {run}")
    record = json.loads(manifest.read_text())
    parked_at, target = (record["epochs_done"], record["steps_into_next_epoch"]), run / STATE_FILE
    if target.exists() and position(target) > parked_at:
        raise ParkingError(f"{target} is further along ({_describe(position(target))}) than the parked state ({_describe(parked_at)})")
    joined = {}
    for name, entry in record["files"].items():
        try:
            data = b"".join((parking / part).read_bytes() for part in entry["parts"])
        except OSError as error:
            raise ParkingError(f"{manifest}: a part of {name} is missing ({error}); nothing restored") from error
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ParkingError(f"{manifest}: the parts of {name} do not add up to the parked file (SHA-256 differs); nothing restored")
        joined[name] = data
    for name, data in joined.items():
        atomic_write_bytes(run / name, data)
    return target, position(target)


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
        written, where = restore(args.run, args.parking) if args.restore else park(args.run, args.parking)
    except ParkingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {written} ({_describe(where)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
