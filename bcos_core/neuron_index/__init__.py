"""Neuron index: per channel of chosen layers, the top-k most activating images of a dataset and statistics.

>>> index = build_index(model, "cifar10_fastnet_b2", "data/cifar10/test", preprocess, out_path="idx.safetensors")
>>> stats = index.layers["block2.conv1"]
>>> stats.top_images[7], stats.mean_max[7]          # channel 7: its 32 best images, mean per-image maximum

Command line: ``python -m bcos_core.neuron_index build|merge|info`` (see ``--help``).
"""

import os
from pathlib import Path

from ..zoo import ASSETS_DIR
from ._build import build_index, shard_range
from ._stats import HISTOGRAM_EDGES, LayerStats
from ._store import NeuronIndex, NeuronIndexError, StaleIndexError, load_index, merge_indexes, model_fingerprint
from ._top import CHANNEL_SCORES, ExplainedTop, channel_scores, explain_top_images, rank_channels, second_peak
from .labels import ConceptLabels, labels_path

SHIPPED_INDEX_DIR = ASSETS_DIR / "neuron_index"
INDEX_DIR_ENV_VAR = "BCOS_INDEX_DIR"


def user_index_dir() -> Path:
    """Where builds go by default and are looked for first: ``$BCOS_INDEX_DIR`` or ``.cache/neuron_index``."""
    return Path(os.environ.get(INDEX_DIR_ENV_VAR) or ASSETS_DIR.parent / ".cache" / "neuron_index")


def default_index_path(model_name: str, data_root: str | Path) -> Path:
    """``<user index dir>/<model>.<dataset>-<split>.safetensors``, e.g. ``cifar10_fastnet_b2.cifar10-test.safetensors``."""
    root = Path(data_root).resolve()
    return user_index_dir() / f"{model_name}.{root.parent.name}-{root.name}.safetensors"


def find_indexes(model_name: str) -> list[Path]:
    """Index files for a model: the user's builds first, then the shipped ones."""
    pattern = f"{model_name}.*.safetensors"
    return sorted(user_index_dir().glob(pattern)) + sorted(SHIPPED_INDEX_DIR.glob(pattern))


__all__ = [
    "CHANNEL_SCORES",
    "HISTOGRAM_EDGES",
    "INDEX_DIR_ENV_VAR",
    "SHIPPED_INDEX_DIR",
    "ConceptLabels",
    "ExplainedTop",
    "LayerStats",
    "NeuronIndex",
    "NeuronIndexError",
    "StaleIndexError",
    "build_index",
    "channel_scores",
    "default_index_path",
    "explain_top_images",
    "find_indexes",
    "labels_path",
    "load_index",
    "merge_indexes",
    "model_fingerprint",
    "rank_channels",
    "second_peak",
    "shard_range",
    "user_index_dir",
]
