"""The neuron index file: safetensors arrays plus a versioned JSON header, fingerprints, staleness and merging."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from ..files import atomic_write_bytes
from ._stats import LayerStats

FORMAT = "bcos-explorer-neuron-index"
VERSION = 1


class NeuronIndexError(ValueError):
    """A neuron index file that cannot be used: unreadable, another format version, or stale."""


class StaleIndexError(NeuronIndexError):
    """The index was built for another model or other data."""


def model_fingerprint(model: nn.Module) -> str:
    """SHA-256 of the model's state (names, shapes, dtypes, values): changes whenever a weight does."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]


@dataclass
class NeuronIndex:
    """Top-k images and statistics per channel for a set of layers, over (a shard of) an image folder.

    ``header`` identifies what it was built from: model (name, fingerprint), dataset (fingerprint, classes,
    number of images, folder hint), k, the shard and the image range it covers, and ``next_image`` while a
    build is in progress.
    """

    header: dict
    layers: dict[str, LayerStats] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.header["next_image"] >= self.header["image_range"][1]

    @property
    def class_names(self) -> list[str]:
        return self.header["dataset"]["classes"]

    def identity(self) -> tuple:
        """What two indexes must share to be merged or resumed: model, data, layers and k."""
        h = self.header
        return (h["model"]["fingerprint"], h["dataset"]["fingerprint"], tuple(h["layers"]), h["k"])

    def check_matches(self, model_fp: str | None = None, data_fp: str | None = None) -> None:
        """Raise StaleIndexError when the index was built from another model or other data."""
        h = self.header
        if model_fp is not None and h["model"]["fingerprint"] != model_fp:
            raise StaleIndexError(
                f"this neuron index was built for another model ({h['model']['name']}, fingerprint {h['model']['fingerprint'][:12]}…, "
                f"this one is {model_fp[:12]}…): rebuild it with python -m bcos_core.neuron_index build"
            )
        if data_fp is not None and h["dataset"]["fingerprint"] != data_fp:
            raise StaleIndexError(
                f"this neuron index was built on other images (dataset fingerprint {h['dataset']['fingerprint'][:12]}…, the folder "
                f"{h['dataset']['folder']!r} here is {data_fp[:12]}…): point at the same data or rebuild the index"
            )

    def save(self, path: str | Path) -> Path:
        tensors = {}
        for name, stats in self.layers.items():
            tensors.update(stats.tensors(name))
        header = {
            **self.header,
            "layer_info": {n: {"images_seen": s.images_seen, "map_size": list(s.map_size)} for n, s in self.layers.items()},
        }
        metadata = {"format": FORMAT, "version": str(VERSION), "header": json.dumps(header)}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, save(tensors, metadata=metadata))
        return path


def load_index(path: str | Path) -> NeuronIndex:
    """Read an index file; NeuronIndexError with the reason if it is not a readable index of this version."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            header_size = int.from_bytes(handle.read(8), "little")
            if not 0 < header_size < 10_000_000:
                raise NeuronIndexError(f"{path}: not a neuron index file (bad header size)")
            metadata = json.loads(handle.read(header_size)).get("__metadata__", {})
        tensors = load_file(path)
    except (OSError, json.JSONDecodeError, SafetensorError, UnicodeDecodeError) as error:
        raise NeuronIndexError(f"{path}: cannot read the neuron index ({error})") from None
    if metadata.get("format") != FORMAT:
        raise NeuronIndexError(f"{path}: not a neuron index file (format {metadata.get('format')!r})")
    if metadata.get("version") != str(VERSION):
        raise NeuronIndexError(f"{path}: neuron index format version {metadata.get('version')}, this version reads {VERSION}: rebuild it")
    header = json.loads(metadata["header"])
    info = header.pop("layer_info")
    layers = {name: LayerStats.from_tensors(tensors, name, info[name]["images_seen"], info[name]["map_size"]) for name in header["layers"]}
    return NeuronIndex(header, layers)


def merge_indexes(parts: list[NeuronIndex]) -> NeuronIndex:
    """Merge the complete shards 0..n−1 of one build into one index (equal to a single pass)."""
    if not parts:
        raise ValueError("nothing to merge")
    first = parts[0]
    count = first.header["shard"][1]
    if any(p.identity() != first.identity() for p in parts):
        raise NeuronIndexError("these index shards were built from different models, data, layers or k")
    shards = sorted(p.header["shard"][0] for p in parts)
    if shards != list(range(count)) or any(p.header["shard"][1] != count for p in parts):
        raise NeuronIndexError(f"need exactly shards 0…{count - 1} of {count}, got {shards}")
    incomplete = [p.header["shard"][0] for p in parts if not p.complete]
    if incomplete:
        raise NeuronIndexError(f"shards {incomplete} are not finished (resume their builds first)")
    ordered = sorted(parts, key=lambda p: p.header["shard"][0])
    layers = {name: LayerStats.empty(s.channels, s.k, s.map_size) for name, s in first.layers.items()}
    for part in ordered:
        for name, stats in part.layers.items():
            layers[name].merge(stats)
    total = first.header["dataset"]["num_images"]
    header = {**first.header, "shard": [0, 1], "image_range": [0, total], "next_image": total}
    return NeuronIndex(header, layers)
