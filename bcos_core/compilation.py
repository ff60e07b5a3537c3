"""When to run an inference pass under ``torch.compile``: one rule for evaluation and the neuron-index build.

Compiling costs a fixed warm-up (about 20 s for the CIFAR FastNet, 1.5–2 minutes for ResNet-50 at 224 px on one
CPU core) and then saves 21–47 % of every forward pass; ``python -m benchmarks.bench_inference`` measures both and
prints the number of images after which compiling pays off. ``"auto"`` compiles a pass over at least
:data:`AUTO_COMPILE_FROM_IMAGES` images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

COMPILE_CHOICES = ("auto", "on", "off")
# bench_inference (2026-12-04, 2-core Xeon, one thread, a training run on the other core; dynamic batch size, cold
# compiler cache): compiling pays off after 1.3 k (forward) and 2.7 k images (index pass) for ResNet-50 at 224 px, but
# only after 18 k and 29 k for the CIFAR FastNet, whose passes are short. From 30 k images both gain: the 50,000 ImageNet
# validation images compile, the 10,000-image CIFAR-10 test set and the 1,000 ImageNet samples stay eager
AUTO_COMPILE_FROM_IMAGES = 30_000

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
