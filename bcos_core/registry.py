"""The model registry: every model the project knows, shipped and official, as data (``registry.toml``).

Loading (:func:`bcos_core.load_model`), the app's pickers and the command-line tools read it; adding a model is
adding an entry. A model's own JSON sidecar stays its training record (command, configuration, metrics), written by
training from :class:`bcos_core.checkpoints.ModelMetadata`; tests check that the two agree.
"""

from __future__ import annotations

import functools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import atomic_write_bytes
from .preprocessing import Preprocess

REGISTRY_PATH = Path(__file__).with_name("registry.toml")
PACKAGE_WEIGHTS_DIR = Path(__file__).with_name("weights")
CLASSES_DIR = Path(__file__).with_name("classes")
CHECKOUT_DIR = Path(__file__).resolve().parents[1]  # the repository root when running from a checkout
WEIGHTS_ENV_VAR = "BCOS_WEIGHTS_DIR"
LOCATIONS = ("package", "repository", "download")
FORMATS = ("safetensors", "bcos-v2-pth")


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: what to build, which weights, which classes and preprocessing, and where it comes from."""

    name: str
    description: str
    arch: str
    arch_kwargs: dict[str, Any]
    dataset: str
    classes: str  # a file name in bcos_core/classes/, without .txt
    preprocess: Preprocess
    location: str
    weights: str
    format: str
    sha256: str  # full digest, or the prefix an official release file name carries
    licence: str
    accuracy: float
    accuracy_source: str
    url: str | None = None
    official_entry: str | None = None  # the model's name in the official package (``bcos.pretrained.<name>``)
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def weights_path(self) -> Path:
        """Where the weights file is (or, for downloads, will be) on this machine."""
        if self.location == "package":
            return PACKAGE_WEIGHTS_DIR / self.weights
        if self.location == "repository":
            return CHECKOUT_DIR / self.weights
        return downloads_dir() / self.weights

    @property
    def b(self) -> float:
        return float(self.arch_kwargs.get("b", 2.0))

    def class_names(self) -> list[str]:
        return read_class_names(self.classes)


@dataclass(frozen=True)
class DatasetEntry:
    """A data set the models are trained on: its class list, the image folder the app browses, how to draw it."""

    name: str
    description: str
    classes: str  # a file name in bcos_core/classes/, without .txt; line i names sorted sub-folder i of ``images``
    images: str  # an ImageFolder tree under the data folder ($BCOS_DATA_DIR), e.g. "cifar10/test"
    preprocess: Preprocess  # for models loaded by path that carry no preprocessing of their own (official-format files)
    smoothing: int  # the paper's smoothing of explanations and localisation maps (3 px on CIFAR-10, 15 px on ImageNet)
    scan_images: int  # images the app classifies to find "misclassified" and "uncertain" ones (a one-off scan)

    def class_names(self) -> list[str]:
        return read_class_names(self.classes)


@dataclass(frozen=True)
class Registry:
    default: str
    models: dict[str, ModelEntry]
    datasets: dict[str, DatasetEntry]


def downloads_dir() -> Path:
    """Where downloaded release files live: ``$BCOS_WEIGHTS_DIR`` or torch's hub cache."""
    env = os.environ.get(WEIGHTS_ENV_VAR)
    if env:
        return Path(env)
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


@functools.cache
def read_class_names(classes: str) -> list[str]:
    """Class names from ``bcos_core/classes/<classes>.txt``, one per line, in label order."""
    return (CLASSES_DIR / f"{classes}.txt").read_text().splitlines()


def _entry(name: str, raw: dict[str, Any]) -> ModelEntry:
    raw = dict(raw)
    try:
        entry = ModelEntry(name=name, preprocess=Preprocess(**raw.pop("preprocess")), tags=tuple(raw.pop("tags", ())), **raw)
    except TypeError as error:
        raise ValueError(f"registry entry {name!r}: missing or unknown fields ({error})") from None
    if entry.location not in LOCATIONS or entry.format not in FORMATS:
        raise ValueError(f"registry entry {name!r}: location must be one of {LOCATIONS} and format one of {FORMATS}")
    if entry.location == "download" and not entry.url:
        raise ValueError(f"registry entry {name!r}: a download needs a url")
    return entry


@functools.cache
def read_registry(path: Path | None = None) -> Registry:
    """The registry file (default :data:`REGISTRY_PATH`), parsed and validated; cached, since it is package data
    rewritten only by :func:`update_entry`."""
    path = path or REGISTRY_PATH
    raw = tomllib.loads(path.read_text())
    models = {name: _entry(name, fields) for name, fields in raw["models"].items()}
    if raw["default"] not in models:
        raise ValueError(f"{path}: default model {raw['default']!r} has no entry")
    try:
        datasets = {
            name: DatasetEntry(name=name, **{**fields, "preprocess": Preprocess(**fields.get("preprocess", {}))})
            for name, fields in raw["datasets"].items()
        }
    except TypeError as error:
        raise ValueError(f"{path}: a data set entry has missing or unknown fields ({error})") from None
    unknown = sorted({entry.dataset for entry in models.values()} - set(datasets))
    if unknown:
        raise ValueError(f"{path}: models use data sets without an entry: {unknown}")
    return Registry(raw["default"], models, datasets)


def default_model() -> str:
    return read_registry().default


def list_models(tag: str | None = None, *, bcos_only: bool = True) -> list[str]:
    """Registered model names, in registry order; ``tag`` selects e.g. ``"b_family"``; baselines only with ``bcos_only=False``."""
    from .models import get_spec

    entries = read_registry().models.values()
    return [e.name for e in entries if (tag is None or tag in e.tags) and (not bcos_only or get_spec(e.arch).bcos)]


def b_family() -> list[str]:
    """The B family (paper Figs. 4–5): models tagged ``b_family``, same architecture at different B, by increasing B."""
    return sorted(list_models("b_family"), key=lambda name: get_entry(name).b)


def architecture_variants(names: list[str]) -> dict[str, list[str]]:
    """``names`` grouped by their architecture apart from B (``arch`` and every ``arch_kwargs`` but ``b``), in order: one
    group when they differ only in B, several while a family is being replaced one member at a time."""
    groups: dict[str, list[str]] = {}
    for name in names:
        entry = get_entry(name)
        kwargs = ", ".join(f"{key}={value}" for key, value in sorted(entry.arch_kwargs.items()) if key != "b")
        groups.setdefault(f"{entry.arch}({kwargs})", []).append(name)
    return groups


def get_entry(name: str) -> ModelEntry:
    try:
        return read_registry().models[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a registered model (known: {', '.join(read_registry().models)})") from None


def get_dataset(name: str) -> DatasetEntry:
    try:
        return read_registry().datasets[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a registered data set (known: {', '.join(read_registry().datasets)})") from None


def dataset_smoothing(name: str) -> int:
    """The paper's smoothing for a data set's explanations; 3 px (the small-image value) for unregistered ones."""
    datasets = read_registry().datasets
    return datasets[name].smoothing if name in datasets else 3


def is_registered(name: str) -> bool:
    return name in read_registry().models


def update_entry(name: str, **fields: Any) -> None:
    """Rewrite ``fields`` (e.g. ``sha256``, ``accuracy``, ``arch_kwargs``) of one entry in place, atomically; other lines
    stay as they are."""
    path = REGISTRY_PATH
    lines = path.read_text().splitlines(keepends=True)
    header = {f"[models.{name}]", f'[models."{name}"]'}
    start = next((i for i, line in enumerate(lines) if line.strip() in header), None)
    if start is None:
        raise KeyError(f"{name!r} is not a registered model")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    remaining = dict(fields)
    for i in range(start + 1, end):
        key = lines[i].split("=", 1)[0].strip()
        if key in remaining:
            lines[i] = f"{key} = {_toml_value(remaining.pop(key))}\n"
    if remaining:
        raise KeyError(f"registry entry {name!r} has no fields {sorted(remaining)}")
    text = "".join(lines)
    tomllib.loads(text)  # never write a file the next reader cannot parse
    atomic_write_bytes(path, text.encode())
    read_registry.cache_clear()


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):  # an inline table such as arch_kwargs
        return "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, int | float):
        raise TypeError(f"only strings, numbers, booleans, lists and tables can be updated, not {type(value).__name__}")
    return repr(value)
