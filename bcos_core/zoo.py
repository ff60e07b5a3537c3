"""One loader for every model: shipped models by name, our checkpoint files by path, official v2 models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoints import CheckpointError, ModelMetadata, checkpoint_paths, load_state_into, read_metadata, read_weights
from .models import BcosClassifier, build_model, get_spec
from .official import OFFICIAL_CHECKPOINTS, fetch_official, read_official_state_dict
from .preprocessing import Preprocess

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
MODELS_DIR = ASSETS_DIR / "models"
DEFAULT_MODEL = "cifar10_fastnet_b2"


@dataclass(frozen=True)
class LoadedModel:
    """An eval-mode model with what is needed to use it: class names, preprocessing and metadata."""

    name: str
    model: BcosClassifier
    class_names: list[str]
    preprocess: Preprocess
    metadata: ModelMetadata
    weights_path: Path | None = None  # the file the weights came from


def list_shipped_models() -> list[str]:
    """Names of the models in ``assets/models`` (each a .safetensors plus .json)."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.json") if p.with_suffix(".safetensors").exists())


def list_official_models() -> list[str]:
    return sorted(OFFICIAL_CHECKPOINTS)


def preprocess_for(dataset: str, input_size: int) -> Preprocess:
    """CIFAR-sized models see the centre square resized to 32 px; ImageNet ones the usual 256 → 224 crop."""
    return Preprocess(size=input_size, resize=None if input_size <= 64 else round(input_size * 256 / 224))


def load_model(name_or_path: str | Path = DEFAULT_MODEL) -> LoadedModel:
    """Load a shipped model by name, one of our checkpoint files by path, or an official v2 model by name."""
    key = str(name_or_path)
    if key in OFFICIAL_CHECKPOINTS:
        return _load_official(key)
    path = MODELS_DIR / key if key in list_shipped_models() else Path(key)
    weights_path, meta_path = checkpoint_paths(path)
    if not weights_path.exists() and not meta_path.exists():
        known = ", ".join(list_shipped_models() + list_official_models())
        raise CheckpointError(f"{key}: no such model file, shipped model or official model (known: {known})")
    metadata = read_metadata(path)
    model = _build(metadata.arch, metadata.arch_kwargs, len(metadata.class_names), str(meta_path))
    load_state_into(model, read_weights(weights_path), str(weights_path))
    return LoadedModel(weights_path.stem, model.eval(), metadata.class_names, preprocess_for(metadata.dataset, metadata.input_size), metadata, weights_path)


def _build(arch: str, kwargs: dict, num_classes: int, source: str) -> BcosClassifier:
    try:
        return build_model(arch, num_classes=num_classes, **kwargs)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{source}: cannot build architecture {arch!r} with {kwargs} ({error})") from None


def _load_official(name: str) -> LoadedModel:
    from torchvision.models import ResNet18_Weights

    checkpoint = OFFICIAL_CHECKPOINTS[name]
    spec = get_spec(checkpoint.arch)
    class_names = list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
    model = build_model(checkpoint.arch)
    path = fetch_official(checkpoint)
    load_state_into(model, read_official_state_dict(path), str(path))
    metadata = ModelMetadata(
        arch=checkpoint.arch,
        arch_kwargs={"b": 2.0},
        class_names=class_names,
        dataset=spec.dataset,
        input_size=spec.input_size,
        logit_bias=model.logit_bias,
        metrics={"top1_reported": checkpoint.top1},
        training={"source": checkpoint.url},
    )
    return LoadedModel(name, model.eval(), class_names, preprocess_for(spec.dataset, spec.input_size), metadata, path)


def random_model(arch: str, seed: int = 0, **kwargs: object) -> BcosClassifier:
    """A registered architecture with seeded random weights in eval mode (tests, benchmarks)."""
    torch.manual_seed(seed)
    return build_model(arch, **kwargs).eval()
