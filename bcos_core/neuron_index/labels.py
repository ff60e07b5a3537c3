"""Concept labels: names users give to neurons, kept in a JSON file next to the neuron index.

The file maps "layer:channel" to a label and records the model fingerprint it belongs to, so labels of one
model are not silently shown on another. Export is the file itself; import merges another file's labels.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..files import atomic_write_bytes

FORMAT = "bcos-explorer-concept-labels"
MAX_LABEL_LENGTH = 80


def labels_path(index_path: str | Path) -> Path:
    """Where the labels of an index live: ``<index>.labels.json`` beside it."""
    index_path = Path(index_path)
    return index_path.with_name(index_path.name.removesuffix(".safetensors") + ".labels.json")


def neuron_key(layer: str, channel: int) -> str:
    return f"{layer}:{channel}"


class ConceptLabels:
    """The labels of one model's neurons; ``save`` writes them atomically."""

    def __init__(self, model_fingerprint: str, labels: dict[str, str] | None = None) -> None:
        self.model_fingerprint = model_fingerprint
        self.labels = dict(labels or {})

    @classmethod
    def load(cls, path: str | Path, model_fingerprint: str) -> ConceptLabels:
        """Labels from ``path`` (none if it does not exist); ValueError if it belongs to another model."""
        path = Path(path)
        if not path.exists():
            return cls(model_fingerprint)
        return cls.from_json(path.read_bytes(), model_fingerprint)

    @classmethod
    def from_json(cls, data: bytes | str, model_fingerprint: str) -> ConceptLabels:
        try:
            content = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"not a concept-label file: {error}") from None
        if not isinstance(content, dict) or content.get("format") != FORMAT or not isinstance(content.get("labels"), dict):
            raise ValueError(f"not a concept-label file (expected a JSON object with format {FORMAT!r} and labels)")
        if content.get("model_fingerprint") != model_fingerprint:
            raise ValueError("these concept labels belong to another model (its fingerprint differs)")
        labels = cls(model_fingerprint)
        for key, label in content["labels"].items():
            layer, _, channel = str(key).rpartition(":")
            if not layer or not channel.isdigit():
                raise ValueError(f"bad neuron key {key!r} (expected 'layer:channel')")
            labels.set(layer, int(channel), str(label))
        return labels

    def to_json(self) -> str:
        return json.dumps(
            {"format": FORMAT, "model_fingerprint": self.model_fingerprint, "labels": dict(sorted(self.labels.items()))}, indent=1
        )

    def save(self, path: str | Path) -> None:
        atomic_write_bytes(Path(path), self.to_json().encode())

    def get(self, layer: str, channel: int) -> str:
        return self.labels.get(neuron_key(layer, channel), "")

    def set(self, layer: str, channel: int, label: str) -> None:
        """Name a neuron (an empty label removes the name); labels are single-line and at most 80 characters."""
        label = " ".join(label.split())[:MAX_LABEL_LENGTH]
        if label:
            self.labels[neuron_key(layer, channel)] = label
        else:
            self.labels.pop(neuron_key(layer, channel), None)

    def merge(self, other: ConceptLabels) -> int:
        """Import another file's labels (they win on conflicts); returns how many were added or changed."""
        changed = sum(self.labels.get(key) != label for key, label in other.labels.items())
        self.labels.update(other.labels)
        return changed

    def search(self, query: str, layer: str | None = None) -> list[tuple[str, int, str]]:
        """(layer, channel, label) of labels containing ``query`` (case-insensitive), optionally in one layer."""
        query = query.strip().lower()
        hits = []
        for key, label in sorted(self.labels.items()):
            name, _, channel = key.rpartition(":")
            if query in label.lower() and (layer is None or name == layer):
                hits.append((name, int(channel), label))
        return hits
