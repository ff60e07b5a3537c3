"""Official B-cos v2 ImageNet checkpoints (github.com/B-cos/B-cos-v2 releases, registered in ``registry.toml``)
loaded into our models.

The release files are plain ``torch.save``d state dicts. We verify the SHA-256 prefix in the file name, then
read them with ``torch.load(weights_only=True)``, PyTorch's restricted unpickler that only rebuilds tensors and
plain containers and refuses arbitrary objects. Keys are mapped to ours (``<layer>.linear.weight`` →
``<layer>.weight``, ``fc`` → ``classifier``); what v2 does not store (B = 2, max_out = 1, logit bias −log 999)
comes from the architecture defaults.
"""

from __future__ import annotations

import re
import shutil
import urllib.request
from pathlib import Path

import torch

from .checkpoints import CheckpointError
from .files import atomic_path, sha256_of
from .registry import WEIGHTS_ENV_VAR, ModelEntry

_KEY_RULES = [
    (re.compile(r"\.linear\.weight$"), ".weight"),
    (re.compile(r"^fc\."), "classifier."),
]


def convert_official_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename v2 keys to ours; everything else (BN buffers, norm weights) keeps its name."""
    converted = {}
    for key, value in state_dict.items():
        for pattern, replacement in _KEY_RULES:
            key = pattern.sub(replacement, key)
        converted[key] = value
    return converted


def fetch_official(entry: ModelEntry, timeout: float = 20.0) -> Path:
    """Local path of a registered release file, downloading it if needed; a clear error if that is impossible."""
    path = entry.weights_path
    if not path.exists():
        try:
            with atomic_path(path) as tmp, urllib.request.urlopen(entry.url, timeout=timeout) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as error:
            raise CheckpointError(
                f"could not download {entry.url} ({error}). Download it elsewhere and place it at {path} "
                f"(or point ${WEIGHTS_ENV_VAR} at the folder holding {entry.weights})."
            ) from None
    if not sha256_of(path).startswith(entry.sha256):
        raise CheckpointError(f"{path}: SHA-256 does not start with {entry.sha256}; the file is corrupt or not {entry.weights}")
    return path


def read_official_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a v2 ``.pth`` state dict with the restricted (tensors-only) unpickler and convert its keys."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for bad files; report one clear error
        raise CheckpointError(f"{path}: not a readable PyTorch state dict ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a state dict, found {type(state).__name__}")
    return convert_official_state_dict(state)
