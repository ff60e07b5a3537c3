"""One training epoch, resumable at any step: every batch's data order and augmentation derive from the seed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from bcos_core.preprocessing import encode_images

from .config import TrainConfig
from .data import InMemoryDataset, augment_batch
from .distributed import ProcessGroup
from .losses import bce_loss
from .schedule import lr_at


@dataclass
class EpochProgress:
    """Where training is: completed epochs, optimiser steps within the current epoch, and the totals so far."""

    epoch: int = 0
    step_in_epoch: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0


def epoch_permutation(num_images: int, seed: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(num_images, generator=generator)


def batch_generator(seed: int, epoch: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) * 100_003 + step)


def steps_per_epoch(num_images: int, batch_size: int) -> int:
    return num_images // batch_size


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: InMemoryDataset,
    cfg: TrainConfig,
    progress: EpochProgress,
    group: ProcessGroup,
    should_stop: Callable[[], bool],
    after_step: Callable[[], None] | None = None,
) -> bool:
    """Train from ``progress.step_in_epoch`` to the end of the epoch; returns False if stopped early.
    ``after_step`` runs after every optimiser step (updating a weight average)."""
    n_steps = steps_per_epoch(len(data), cfg.optim.batch_size)
    total_steps = n_steps * cfg.optim.epochs
    order = epoch_permutation(len(data), cfg.run.seed, progress.epoch)
    model.train()
    bar = tqdm(
        range(progress.step_in_epoch, n_steps),
        initial=progress.step_in_epoch,
        total=n_steps,
        desc=f"epoch {progress.epoch + 1}/{cfg.optim.epochs}",
        unit="step",
        disable=not group.is_main,
        dynamic_ncols=True,
        mininterval=1 if sys.stderr.isatty() else 30,
    )
    for step in bar:
        if should_stop():
            return False
        indices = order[step * cfg.optim.batch_size : (step + 1) * cfg.optim.batch_size]
        images = augment_batch(
            data.images[indices],
            batch_generator(cfg.run.seed, progress.epoch, step),
            cfg.data.crop_padding,
            cfg.data.flip,
            cfg.data.cutout,
        )
        local = slice(group.rank * len(indices) // group.world_size, (group.rank + 1) * len(indices) // group.world_size)
        x, labels = encode_images(images[local]), data.labels[indices][local]
        if cfg.run.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        for group_params in optimizer.param_groups:
            group_params["lr"] = lr_at(progress.epoch * n_steps + step, total_steps, n_steps, cfg.optim)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.run.bf16):
            logits = model(x)
        loss = bce_loss(logits.float(), labels, cfg.optim.loss)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step()
        progress.step_in_epoch = step + 1
        progress.loss_sum += float(loss.detach()) * len(labels)
        progress.correct += int((logits.argmax(1) == labels).sum())
        progress.seen += len(labels)
        bar.set_postfix(
            refresh=False,
            loss=f"{progress.loss_sum / progress.seen:.4f}",
            acc=f"{progress.correct / progress.seen:.3f}",
            lr=f"{optimizer.param_groups[0]['lr']:.2e}",
        )
    return True
