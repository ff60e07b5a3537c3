"""One loader for every model: registered models by name (shipped and official, see ``registry.toml``), our checkpoint
files by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from . import registry
from .checkpoints import CheckpointError, ModelMetadata, checkpoint_paths, load_state_into, read_metadata, read_weights
from .files import sha256_of
from .models import BcosClassifier, build_model, get_spec, list_architectures
from .official import fetch_official, read_official_state_dict
from .preprocessing import Preprocess

ASSETS_DIR = registry.CHECKOUT_DIR / "assets"  # evaluation results and neuron indices of a checkout
DEFAULT_MODEL = registry.default_model()


@dataclass(frozen=True)
class LoadedModel:
    """An eval-mode model with what is needed to use it: class names, preprocessing and metadata."""

    name: str
    model: BcosClassifier
    class_names: list[str]
    preprocess: Preprocess
    metadata: ModelMetadata
    weights_path: Path | None = None  # the file the weights came from


OFFICIAL_FORMAT_SUFFIXES = (".pth", ".pt")


def load_model(name_or_path: str | Path = DEFAULT_MODEL) -> LoadedModel:
    """Load a registered model by name (``registry.toml``), one of our checkpoint files by path, or a state dict in the
    official B-cos v2 format as ``"<architecture>:<path>"`` (e.g. ``"bcos_resnet50_imagenet:runs/finetuned.pth"``: your
    own fine-tuned B-cos ResNet; no hash applies; classes and preprocessing are the architecture's data set's)."""
    key = str(name_or_path)
    if registry.is_registered(key):
        return _load_registered(registry.get_entry(key))
    arch, separator, path = key.partition(":")
    if separator and arch in list_architectures():
        return _load_official_format(arch, Path(path))
    if key.endswith(OFFICIAL_FORMAT_SUFFIXES):
        raise CheckpointError(
            f"{key}: an official-format state dict needs its architecture: load '<architecture>:{key}' "
            f"(architectures: {', '.join(list_architectures('*imagenet'))}, …)"
        )
    weights_path, meta_path = checkpoint_paths(key)
    if not weights_path.exists() and not meta_path.exists():
        raise CheckpointError(f"{key}: no such model file or registered model (registered: {', '.join(registry.read_registry().models)})")
    metadata = read_metadata(key)
    model = _build(metadata.arch, metadata.arch_kwargs, len(metadata.class_names), str(meta_path))
    load_state_into(model, read_weights(weights_path), str(weights_path))
    preprocess = Preprocess(size=metadata.input_size, resize=metadata.resize)
    return LoadedModel(weights_path.stem, model.eval(), metadata.class_names, preprocess, metadata, weights_path)


def _load_official_format(arch: str, path: Path) -> LoadedModel:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    dataset = registry.get_dataset(get_spec(arch).dataset)
    class_names = dataset.class_names()
    model = _build(arch, {}, len(class_names), str(path))
    load_state_into(model, read_official_state_dict(path), str(path))
    metadata = ModelMetadata(
        arch=arch,
        arch_kwargs={},
        class_names=class_names,
        dataset=dataset.name,
        input_size=dataset.preprocess.size,
        resize=dataset.preprocess.resize,
        logit_bias=model.logit_bias,
        metrics={},
        training={"source": str(path)},
    )
    return LoadedModel(f"{arch}:{path}", model.eval(), class_names, dataset.preprocess, metadata, path)


def _load_registered(entry: registry.ModelEntry) -> LoadedModel:
    class_names = entry.class_names()
    model = _build(entry.arch, entry.arch_kwargs, len(class_names), f"registry entry {entry.name!r}")
    if entry.format == "bcos-v2-pth":
        path = fetch_official(entry)
        state = read_official_state_dict(path)
    else:
        path = entry.weights_path
        if not path.exists():
            raise CheckpointError(
                f"{entry.name}: weights file {path} not found (registered models with location {entry.location!r} come with a checkout)"
            )
        if sha256_of(path) != entry.sha256:
            raise CheckpointError(
                f"{path}: SHA-256 differs from the registry's; the file is corrupt or was replaced without updating registry.toml"
            )
        state = read_weights(path)
    load_state_into(model, state, str(path))
    _, meta_path = checkpoint_paths(path)
    metadata = (
        read_metadata(path)
        if meta_path.exists()
        else ModelMetadata(
            arch=entry.arch,
            arch_kwargs=entry.arch_kwargs,
            class_names=class_names,
            dataset=entry.dataset,
            input_size=entry.preprocess.size,
            resize=entry.preprocess.resize,
            logit_bias=model.logit_bias,
            metrics={"top1_reported": entry.accuracy},
            training={"source": entry.url or entry.accuracy_source},
        )
    )
    return LoadedModel(entry.name, model.eval(), class_names, entry.preprocess, metadata, path)


def _build(arch: str, kwargs: dict, num_classes: int, source: str) -> BcosClassifier:
    try:
        return build_model(arch, num_classes=num_classes, **kwargs)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{source}: cannot build architecture {arch!r} with {kwargs} ({error})") from None


def random_model(arch: str, seed: int = 0, **kwargs: object) -> BcosClassifier:
    """A registered architecture with seeded random weights in eval mode (tests, benchmarks)."""
    torch.manual_seed(seed)
    return build_model(arch, **kwargs).eval()
