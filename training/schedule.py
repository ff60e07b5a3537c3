"""Learning-rate schedule: linear warm-up, then cosine decay (a pure function of the step)."""

from __future__ import annotations

import math

from .config import OptimConfig


def lr_at(step: int, total_steps: int, steps_per_epoch: int, cfg: OptimConfig) -> float:
    """Learning rate for optimiser step ``step`` (0-based) of ``total_steps``."""
    warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
    if step < warmup:
        factor = cfg.warmup_start_factor + (1 - cfg.warmup_start_factor) * step / warmup
        return cfg.lr * factor
    progress = (step - warmup) / max(1, total_steps - warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.final_lr_factor + (1 - cfg.final_lr_factor) * cosine)
