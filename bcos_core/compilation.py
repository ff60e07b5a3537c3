"""When to run an inference pass under ``torch.compile``: one rule for evaluation and the neuron-index build.

Compiling costs a fixed warm-up (seconds for the CIFAR models, about two minutes for ResNet-50 at 224 px on two
CPU cores) and then saves 15–45 % of every forward pass; ``python -m benchmarks.bench_inference`` measures both and
prints the number of images after which compiling pays off. ``"auto"`` compiles a pass over at least
:data:`AUTO_COMPILE_FROM_IMAGES` images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

COMPILE_CHOICES = ("auto", "on", "off")
# bench_inference (2026-12-04, 2-core Xeon, one thread, loaded machine): compiling paid off after 1.7–1.9 k images for
# the forward pass (CIFAR FastNet with a warm compiler cache, ResNet-50 cold) and 2.8–3.0 k for the index pass; a cold
# compile of the small model takes about five times as long, so the threshold leaves room for it
AUTO_COMPILE_FROM_IMAGES = 5_000

F = TypeVar("F", bound=Callable)


def compiled_if_worthwhile(fn: F, choice: str, num_images: int) -> F:
    """``fn`` under ``torch.compile`` if ``choice`` is "on", or "auto" and the pass covers at least
    :data:`AUTO_COMPILE_FROM_IMAGES` images; otherwise ``fn`` itself. Compiled for any batch size (``dynamic=True``),
    so a last, smaller batch does not compile a second time. Wraps, never changes, a module (``torch.compile`` of a
    module returns a new one), so a model other threads use is left as it is."""
    if choice not in COMPILE_CHOICES:
        raise ValueError(f"compile must be one of {', '.join(COMPILE_CHOICES)}, not {choice!r}")
    if choice == "on" or (choice == "auto" and num_images >= AUTO_COMPILE_FROM_IMAGES):
        return torch.compile(fn, dynamic=True)
    return fn
