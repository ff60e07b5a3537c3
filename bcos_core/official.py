"""Official B-cos v2 ImageNet checkpoints (github.com/B-cos/B-cos-v2 releases, registered in ``registry.toml``)
loaded into our models.

The release files are plain ``torch.save``d state dicts, downloaded resumably (``python -m bcos_core.official``
shows a progress bar). We verify the SHA-256 prefix in the file name, then
read them with ``torch.load(weights_only=True)``, PyTorch's restricted unpickler that only rebuilds tensors and
plain containers and refuses arbitrary objects. Keys are mapped to ours (``<layer>.linear.weight`` →
``<layer>.weight``, ``fc`` → ``classifier``); what v2 does not store (B = 2, max_out = 1, logit bias −log 999)
comes from the architecture defaults.
"""

from __future__ import annotations

import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import torch

from .checkpoints import CheckpointError
from .files import sha256_of
from .registry import WEIGHTS_ENV_VAR, ModelEntry, list_models

_KEY_RULES = [
    (re.compile(r"^0\."), ""),  # ViTs: v2 wraps them with their logit layer in a sequential
    (re.compile(r"\.linear\.weight$"), ".weight"),
    (re.compile(r"^fc\."), "classifier."),
]


def list_official_models() -> list[str]:
    """Registered names of the official B-cos v2 release models (CNNs and ViTs), loadable when their file is present
    or can be downloaded."""
    return list_models(tag="official")


def convert_official_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename v2 keys to ours; everything else (BN buffers, norm weights) keeps its name."""
    converted = {}
    for key, value in state_dict.items():
        for pattern, replacement in _KEY_RULES:
            key = pattern.sub(replacement, key)
        converted[key] = value
    return converted


ProgressCallback = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None when unknown)
_DOWNLOAD_LOCK = threading.Lock()  # one download at a time in this process (two visitors picking the same model)


def fetch_official(entry: ModelEntry, timeout: float = 20.0, progress: ProgressCallback | None = None) -> Path:
    """Local path of a registered release file, downloading it if needed (resumable, hash-checked, ``progress``
    called as bytes arrive); a clear error with the file name and URL if that is impossible."""
    path = entry.weights_path
    if not path.exists():
        with _DOWNLOAD_LOCK:
            if not path.exists():
                _download(entry, path, timeout, progress)
    if not sha256_of(path).startswith(entry.sha256):
        raise CheckpointError(f"{path}: SHA-256 does not start with {entry.sha256}; the file is corrupt or not {entry.weights}")
    return path


def _download(entry: ModelEntry, path: Path, timeout: float, progress: ProgressCallback | None) -> None:
    """Download into ``<file>.part``, continuing a partial file with an HTTP Range request; the file appears under its
    name only once complete and hash-checked."""
    part = path.with_name(path.name + ".part")
    try:
        download_resumable(entry.url, part, timeout, progress)
    except OSError as error:
        kept = " The partial download is kept and continues on the next try." if part.exists() and part.stat().st_size else ""
        raise CheckpointError(
            f"could not download {entry.url} ({error}).{kept} Download it elsewhere and place it at {path} "
            f"(or point ${WEIGHTS_ENV_VAR} at the folder holding {entry.weights})."
        ) from None
    if not sha256_of(part).startswith(entry.sha256):
        part.unlink()
        raise CheckpointError(f"downloaded {entry.url}, but its SHA-256 does not start with {entry.sha256}; the file was discarded")
    os.replace(part, path)


def download_resumable(url: str, part: Path, timeout: float = 20.0, progress: ProgressCallback | None = None) -> None:
    """Append the rest of ``url`` to ``part`` (from its current size: servers that ignore Range send it all again)."""
    part.parent.mkdir(parents=True, exist_ok=True)
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and done:  # nothing left to send: the partial file is already complete
            return
        raise
    with response:
        if done and response.status != 206:
            done = 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length else None
        with open(part, "ab" if done else "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)


def read_official_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a v2 ``.pth`` state dict with the restricted (tensors-only) unpickler and convert its keys."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for bad files; report one clear error
        raise CheckpointError(f"{path}: not a readable PyTorch state dict ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a state dict, found {type(state).__name__}")
    return convert_official_state_dict(state)


def main(argv: list[str] | None = None) -> int:
    """``python -m bcos_core.official [name …]``: download registered release files (default: all) with a progress bar."""
    import argparse

    from tqdm import tqdm

    from .registry import get_entry, list_models

    official = [name for name in list_models() if get_entry(name).location == "download"]
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("names", nargs="*", metavar="name", help=f"registered official models (default: all of {', '.join(official)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(official))
    if unknown:
        parser.error(f"not official models: {', '.join(unknown)} (choose from {', '.join(official)})")
    for name in args.names or official:
        entry = get_entry(name)
        with tqdm(desc=entry.weights, unit="B", unit_scale=True, unit_divisor=1024) as bar:

            def advance(done: int, total: int | None, bar: tqdm = bar) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                path = fetch_official(entry, progress=advance)
            except CheckpointError as error:
                bar.close()
                print(f"{name}: {error}")
                return 1
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
