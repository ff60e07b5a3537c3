"""Typed training configuration: TOML file plus dotted command-line overrides (``--optim.lr=1e-3``)."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints


@dataclass
class ModelConfig:
    arch: str = "bcos_fastnet_cifar10"
    b: float = 2.0
    kwargs: dict[str, Any] = field(default_factory=dict)  # extra builder arguments, e.g. widths, norm


@dataclass
class DataConfig:
    source: str = "folder"  # "folder" (an ImageFolder tree) or "torchvision" (downloads CIFAR-10)
    root: str = ""  # "" → $BCOS_DATA_DIR/cifar10 or ../shared/data/cifar10
    cache_dir: str = ".cache/data"  # decoded arrays; "" disables the cache
    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0  # side of the greyed-out square (pixels); 0 turns cutout off
    train_subset: int = 0  # >0: use only the first N shuffled training images (quick runs, tests)
    test_subset: int = 0


@dataclass
class OptimConfig:
    epochs: int = 30
    batch_size: int = 128  # global batch, split across processes under torchrun
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam" (L2 added to the gradient, the papers' recipes) or "adamw" (decoupled decay)
    weight_decay: float = 0.0  # "adamw" decays only weight matrices and kernels, not norm scales or biases
    warmup_epochs: float = 1.0
    warmup_start_factor: float = 0.01
    final_lr_factor: float = 0.0
    loss: str = "bce"  # "bce" (one-hot targets) or "uniform_off_labels" (1/C off-label targets)
    ema_decay: float = 0.0  # >0: evaluate and export an exponential moving average of the weights (decay per step)
    frozen: list[str] = field(default_factory=list)  # parameter names kept as initialised, e.g. "block3.norm2.weight"


@dataclass
class RunConfig:
    out_dir: str = "runs/default"
    seed: int = 0
    threads: int = 0  # 0: torch's default
    compile: bool = False
    bf16: bool = False  # bfloat16 autocast for convolutions (fast on CPUs with AMX / AVX-512 BF16)
    eval_every: int = 1
    channels_last: bool = False
    max_epochs_this_run: int = 0  # >0: stop (with a checkpoint) after this many epochs; for time-sliced runs
    stop_after_epoch: int = 0  # >0: the run ends after this epoch, its schedule still spanning optim.epochs (a sibling's budget)
    init_from: str = ""  # an exported model (.safetensors + .json) whose weights start the run: fine-tuning
    alignment_images: int = 0  # >0: each evaluation also logs the exported model's alignment on N test images
    localisation_grids: int = 0  # >0: each evaluation also logs its localisation (smoothing 3 and 1) on up to N grids


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    if annotation is bool:
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes"):
                return True
            if value.lower() in ("0", "false", "no"):
                return False
            raise ValueError(f"{key}: expected a boolean, got {value!r}")
        return bool(value)
    if annotation in (int, float, str):
        try:
            return annotation(value)
        except ValueError:
            raise ValueError(f"{key}: expected {annotation.__name__}, got {value!r}") from None
    if isinstance(value, str):  # dict fields given on the command line as JSON
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"{key}: expected JSON, got {value!r}") from None
    return value


def _apply(config: TrainConfig, section: str, key: str, value: Any) -> None:
    sections = {f.name for f in dataclasses.fields(TrainConfig)}
    if section not in sections:
        raise ValueError(f"unknown config section {section!r}; sections: {sorted(sections)}")
    target = getattr(config, section)
    hints = get_type_hints(type(target))
    if key not in hints:
        raise ValueError(f"unknown key {section}.{key}; known: {sorted(hints)}")
    setattr(target, key, _coerce(value, hints[key], f"{section}.{key}"))


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Defaults, then the TOML file, then ``section.key=value`` overrides; unknown keys are errors."""
    config = TrainConfig()
    if path:
        with open(path, "rb") as handle:
            for section, values in tomllib.load(handle).items():
                if not isinstance(values, dict):
                    raise ValueError(f"{path}: top-level key {section!r} must be a table like [optim]")
                for key, value in values.items():
                    _apply(config, section, key, value)
    for item in overrides or []:
        name, sep, value = item.removeprefix("--").partition("=")
        section, dot, key = name.partition(".")
        if not sep or not dot:
            raise ValueError(f"override {item!r} must look like --section.key=value")
        _apply(config, section, key, value)
    return config
