"""Official B-cos v2 ImageNet checkpoints (github.com/B-cos/B-cos-v2 releases) loaded into our models.

The release files are plain ``torch.save``d state dicts. We verify the SHA-256 prefix in the file name, then
read them with ``torch.load(weights_only=True)``, PyTorch's restricted unpickler that only rebuilds tensors and
plain containers and refuses arbitrary objects. Keys are mapped to ours (``<layer>.linear.weight`` →
``<layer>.weight``, ``fc`` → ``classifier``); what v2 does not store (B = 2, max_out = 1, logit bias −log 999)
comes from the architecture defaults.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoints import CheckpointError

RELEASE_URL = "https://github.com/B-cos/B-cos-v2/releases/download/v0.0.1-weights"
WEIGHTS_ENV_VAR = "BCOS_WEIGHTS_DIR"


@dataclass(frozen=True)
class OfficialCheckpoint:
    name: str
    arch: str
    file_name: str
    top1: float

    @property
    def url(self) -> str:
        return f"{RELEASE_URL}/{self.file_name}"

    @property
    def sha256_prefix(self) -> str:
        return self.file_name.rsplit("-", 1)[1].split(".")[0]


OFFICIAL_CHECKPOINTS = {
    c.name: c
    for c in [
        OfficialCheckpoint("v2_resnet18", "bcos_resnet18_imagenet", "resnet_18-68b4160fff.pth", 68.736),
        OfficialCheckpoint("v2_resnet50", "bcos_resnet50_imagenet", "resnet_50-ead259efe4.pth", 75.882),
        OfficialCheckpoint("v2_densenet121", "bcos_densenet121_imagenet", "densenet_121-b8daf96afb.pth", 73.612),
    ]
}

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


def weights_dir() -> Path:
    """Where official files are looked for and downloaded to: ``$BCOS_WEIGHTS_DIR`` or torch's hub cache."""
    env = os.environ.get(WEIGHTS_ENV_VAR)
    return Path(env) if env else Path(torch.hub.get_dir()) / "checkpoints"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_official(checkpoint: OfficialCheckpoint, timeout: float = 20.0) -> Path:
    """Local path of the release file, downloading it if needed; a clear error if that is impossible."""
    path = weights_dir() / checkpoint.file_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part")
        try:
            with urllib.request.urlopen(checkpoint.url, timeout=timeout) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
            os.replace(tmp, path)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise CheckpointError(
                f"could not download {checkpoint.url} ({error}). Download it elsewhere and place it at {path} "
                f"(or point ${WEIGHTS_ENV_VAR} at the folder holding {checkpoint.file_name})."
            ) from None
    if not _sha256(path).startswith(checkpoint.sha256_prefix):
        raise CheckpointError(f"{path}: SHA-256 does not start with {checkpoint.sha256_prefix}; the file is corrupt or not {checkpoint.file_name}")
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
