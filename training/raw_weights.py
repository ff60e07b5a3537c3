"""Export a finished run's raw weights (not its weight average) as a model, from its resumable state.

    python -m training.raw_weights runs/<run> runs/<run>/raw/model
    python -m training.evaluate --model runs/<run>/raw/model.safetensors --write-metadata --compile off

A run with ``optim.ema_decay`` exports the average, but in a short cosine cycle the average lags the raw weights (16
epochs at decay 0.999: 85.4 % against 87.3 %). The raw weights are exactly what the same run without averaging would
have produced (the average never feeds back into training), so they are taken from ``last.safetensors``; the copy's
metadata says which weights it holds and drops the average's measured metrics, so it must be evaluated before promotion.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bcos_core.checkpoints import CheckpointError, load_state_into, save_model
from bcos_core.zoo import load_model

from ._export_cli import report_written
from .state import RUN_EXPORT_NAME, STATE_FILE, read_raw_weights


def write_raw_weights(run: str | Path, target: str | Path) -> Path:
    """Write ``target`` (.safetensors + .json): the raw weights in ``run``'s resumable state with ``run``'s model
    metadata; returns the weights path."""
    run = Path(run)
    if not (run / STATE_FILE).exists():
        raise CheckpointError(f"{run / STATE_FILE}: no training state (is {run} a training run's folder?)")
    loaded = load_model(run / f"{RUN_EXPORT_NAME}.safetensors")  # the run's architecture, built as its metadata says
    model, metadata = loaded.model, loaded.metadata
    load_state_into(model, read_raw_weights(run / STATE_FILE), str(run / STATE_FILE))
    metadata.training = {**metadata.training, "weights": "raw weights at the last epoch (not the weight average)"}
    metadata.metrics = {}
    return save_model(model, target, metadata)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a training run's folder (holding last.safetensors and model.safetensors/.json)")
    parser.add_argument("target", help="where to write the model (path without .safetensors)")
    args = parser.parse_args(argv)
    return report_written(lambda: write_raw_weights(args.run, args.target), (CheckpointError,))


if __name__ == "__main__":
    sys.exit(main())
