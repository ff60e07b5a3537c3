"""Resumable training state in one safetensors file (tensors) with a JSON header (everything else).

Written atomically (temporary file, then rename) so a crash or ``kill -9`` never leaves half a checkpoint;
no pickle is involved, so a checkpoint from elsewhere cannot execute code when resumed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from bcos_core.files import atomic_path

STATE_FILE = "last.safetensors"  # a run's resumable state, in its output folder
RUN_EXPORT_NAME = "model"  # the model a run exports (its weight average where it keeps one): model.safetensors + .json


def save_training_state(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, info: dict[str, Any], averaged: nn.Module | None = None
) -> None:
    """Save model, optimiser, the weight average (if any) and ``info`` (epoch, step, config, …) atomically."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if averaged is not None:
        tensors |= {f"average.{k}": v.detach().cpu().contiguous() for k, v in averaged.state_dict().items()}
    optim_state = optimizer.state_dict()
    for index, values in optim_state["state"].items():
        for key, value in values.items():
            tensors[f"optim.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    header = {**info, "param_groups": optim_state["param_groups"]}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"training_state": json.dumps(header)})


def _section(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors saved under ``prefix`` (``"model."``, ``"average."``), with the prefix removed."""
    return {key.removeprefix(prefix): value for key, value in tensors.items() if key.startswith(prefix)}


def read_raw_weights(path: Path) -> dict[str, torch.Tensor]:
    """The model's own (not averaged) weights in a training state, as a state dict."""
    return _section(load_file(str(path)), "model.")


def read_training_info(path: Path) -> dict[str, Any]:
    """The JSON header of a training state (epoch, step, config, history, …) without loading its tensors."""
    with safe_open(str(path), "pt") as handle:
        return json.loads(handle.metadata()["training_state"])


def load_training_state(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, averaged: nn.Module | None = None
) -> dict[str, Any]:
    """Restore model, optimiser and the weight average (if any) from ``path``; returns the saved ``info``."""
    header = read_training_info(path)
    tensors = load_file(str(path))
    model.load_state_dict(_section(tensors, "model."))
    if averaged is not None:
        average = _section(tensors, "average.")
        if not average:
            raise ValueError(f"{path} holds no weight average; resume with the run's own optim.ema_decay")
        averaged.load_state_dict(average)
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": header.pop("param_groups")})
    return header
