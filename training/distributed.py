"""Data parallelism under ``torchrun`` (gloo on CPU): process rank, world size and set-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroup:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> ProcessGroup:
    """Join the process group when started by ``torchrun``; a single process otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return ProcessGroup()
    if not dist.is_initialized():
        dist.init_process_group("gloo")
    return ProcessGroup(dist.get_rank(), dist.get_world_size())


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
