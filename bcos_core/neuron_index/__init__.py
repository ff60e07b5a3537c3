"""Neuron index: per channel of chosen layers, the top-k most activating images of a dataset and statistics.

>>> index = build_index(model, "cifar10_fastnet_b2", "data/cifar10/test", preprocess, out_path="idx.safetensors")
>>> stats = index.layers["block2.conv1"]
>>> stats.top_images[7], stats.mean_max[7]          # channel 7: its 32 best images, mean per-image maximum

Command line: ``python -m bcos_core.neuron_index build|merge|info`` (see ``--help``).
"""

import os
import re
from pathlib import Path

from ..datasets import folder_label
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


def _file_safe(text: str) -> str:
    """``text`` usable in a file name (model references such as ``bcos_resnet50_imagenet:/runs/x.pth`` hold / and :)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def default_index_path(model_name: str, data_root: str | Path) -> Path:
    """``<user index dir>/<model>.<folder>.safetensors``, e.g. ``cifar10_fastnet_b2.cifar10-test.safetensors``."""
    return user_index_dir() / f"{_file_safe(model_name)}.{_file_safe(folder_label(data_root))}.safetensors"


def find_indexes(model_name: str) -> list[Path]:
    """Finished index files for a model (not the shards of a build): the user's builds first, then the shipped ones."""
    pattern = f"{_file_safe(model_name)}.*.safetensors"
    found = sorted(user_index_dir().glob(pattern)) + sorted(SHIPPED_INDEX_DIR.glob(pattern))
    return [path for path in found if not SHARD_SUFFIX.search(path.name)]


SHARD_SUFFIX = re.compile(r"\.shard\d+of\d+\.safetensors$")


def shard_path(out: Path, shard: tuple[int, int]) -> Path:
    """Where shard i of n of a build writing ``out`` goes: ``<out stem>.shard<i>of<n>.safetensors``."""
    return out.with_name(out.name.removesuffix(".safetensors") + f".shard{shard[0]}of{shard[1]}.safetensors")


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
    "shard_path",
    "labels_path",
    "load_index",
    "merge_indexes",
    "model_fingerprint",
    "rank_channels",
    "second_peak",
    "shard_range",
    "user_index_dir",
]
