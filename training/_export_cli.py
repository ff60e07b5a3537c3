"""The command-line end of the tools that write a model for evaluation (training.mirror, training.raw_weights)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def report_written(write: Callable[[], Path], errors: tuple[type[Exception], ...]) -> int:
    """Run ``write``; print where it wrote and how to measure the model (exit status 0), or the error (2): a written
    model carries no measured accuracy until it has been evaluated, and promotion needs one."""
    try:
        written = write()
    except errors as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {written}; evaluate it with: python -m training.evaluate --model {written} --write-metadata --compile off")
    return 0
