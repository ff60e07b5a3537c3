"""Our model files: safetensors weights plus a JSON metadata sidecar. Loading never unpickles.

``model.safetensors`` holds the state dict; ``model.json`` holds what is needed to rebuild and describe the
model (architecture and its arguments, B, class names, logit bias, dataset, accuracy, training command,
library version). Every failure surfaces as one :class:`CheckpointError` that names the file and the problem.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .files import atomic_path, atomic_write_bytes

FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A model file is missing, truncated, corrupt or does not fit its architecture."""


@dataclass
class ModelMetadata:
    """Everything about a saved model except its weights."""

    arch: str
    arch_kwargs: dict[str, Any]
    class_names: list[str]
    dataset: str
    input_size: int
    logit_bias: float
    resize: int | None = None  # shorter side resized to this before the centre crop of input_size (None: to input_size)
    logit_temperature: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    library_version: str = ""
    format_version: int = FORMAT_VERSION

    @property
    def b(self) -> float:
        return float(self.arch_kwargs.get("b", 2.0))

    @property
    def training_lineage(self) -> list[dict[str, Any]]:
        """The training runs this model came from, its own first, then each run it was initialised from."""
        runs, training = [], self.training
        while training:
            runs.append(training)
            training = training.get("initialised_from", {}).get("training", {})
        return runs

    @property
    def training_budget(self) -> str:
        """Its training cycles, first cycle first, e.g. "16 + 8 epochs of 50,000 images" (empty when not recorded):
        models compared with each other should differ in this no more than in what is being compared."""
        cycles = [(run.get("epochs", 0), run.get("train_images", 0)) for run in reversed(self.training_lineage)]
        if not cycles:
            return ""
        if len({images for _, images in cycles}) == 1:
            return f"{' + '.join(str(epochs) for epochs, _ in cycles)} epochs of {cycles[0][1]:,} images"
        return " + ".join(f"{epochs} epochs of {images:,} images" for epochs, images in cycles)


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(weights, metadata) paths for ``x``, ``x.safetensors`` or ``x.json``."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    # append rather than replace suffixes: names such as "model_b1.5" contain dots
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def save_model(model: nn.Module, path: str | os.PathLike, metadata: ModelMetadata) -> Path:
    """Write ``<stem>.safetensors`` and ``<stem>.json`` atomically; returns the weights path."""
    from . import __version__

    weights_path, meta_path = checkpoint_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    metadata.library_version = __version__
    _write_weights({key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}, weights_path, metadata.arch)
    write_metadata(meta_path, metadata)
    return weights_path


def write_metadata(path: str | os.PathLike, metadata: ModelMetadata) -> Path:
    """Write a model's ``<stem>.json`` atomically (its weights untouched); returns its path."""
    _, meta_path = checkpoint_paths(path)
    atomic_write_bytes(meta_path, json.dumps(asdict(metadata), indent=2).encode())
    return meta_path


def _write_weights(state: dict[str, torch.Tensor], weights_path: Path, arch: str) -> None:
    with atomic_path(weights_path) as tmp:
        save_file(state, str(tmp), metadata={"format": "bcos-explorer", "arch": arch})


def store_half_precision(path: str | os.PathLike) -> Path:
    """Rewrite a model's weights file with its float32 tensors stored as float16, atomically; returns its path.

    Half the bytes for a shipped file (a Hugging Face Space takes files up to 10 MB without Git-LFS); loading casts
    the values back into the model's float32 tensors, so computation and exactness are unchanged, while the weights
    themselves are rounded (relative 5e-4): measure the model again afterwards. Values float16 cannot hold are refused.
    """
    weights_path, _ = checkpoint_paths(path)
    state = read_weights(weights_path)
    halved = {key: value.half() if value.dtype == torch.float32 else value for key, value in state.items()}
    for key, value in halved.items():
        if value.dtype == torch.float16 and torch.isinf(value).any() and not torch.isinf(state[key]).any():
            raise CheckpointError(f"{weights_path}: {key} has values beyond float16's range; keep it in float32")
    _write_weights(halved, weights_path, read_metadata(path).arch)
    return weights_path


def read_metadata(path: str | os.PathLike) -> ModelMetadata:
    """Read and validate a model's JSON metadata."""
    _, meta_path = checkpoint_paths(path)
    if not meta_path.exists():
        raise CheckpointError(f"{meta_path}: metadata file not found (a model is a .safetensors file plus its .json)")
    try:
        raw = json.loads(meta_path.read_text())
        return ModelMetadata(**raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{meta_path}: metadata is not valid JSON ({error})") from None
    except TypeError as error:
        raise CheckpointError(f"{meta_path}: metadata has missing or unknown fields ({error})") from None


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a safetensors file (no pickle), turning library errors into a :class:`CheckpointError`."""
    weights_path = Path(path)
    if not weights_path.exists():
        raise CheckpointError(f"{weights_path}: weights file not found")
    try:
        return load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{weights_path}: not a readable safetensors file, probably truncated or corrupt ({error})") from None


def load_state_into(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Strictly load ``state``, reporting missing, unexpected and mis-shaped tensors in one message."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mis_shaped = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or mis_shaped:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})")
        if mis_shaped:
            parts.append(f"{len(mis_shaped)} with wrong shape (e.g. {mis_shaped[:2]})")
        raise CheckpointError(f"{source}: weights do not fit the architecture: " + "; ".join(parts))
    model.load_state_dict(state)
