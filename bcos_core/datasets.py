"""Finding images on disk: ImageFolder trees (``root/<class>/<image>``) and the configured data folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DATA_ENV_VAR = "BCOS_DATA_DIR"


def default_data_root() -> Path:
    """The data folder: ``$BCOS_DATA_DIR`` or ``../shared/data`` next to the project."""
    env = os.environ.get(DATA_ENV_VAR)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def list_image_folder(root: str | Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names (sorted folder names) and (path, class index) samples, in a stable order."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist (set ${DATA_ENV_VAR} to the folder holding cifar10/)")
    classes = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"{root} has no class sub-folders (expected an ImageFolder tree: {root}/<class>/<image>)")
    samples = [
        (path, index)
        for index, name in enumerate(classes)
        for path in sorted((root / name).iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    return classes, samples


def dataset_fingerprint(root: Path, classes: list[str], samples: list[tuple[Path, int]]) -> str:
    """SHA-256 of the class names and every image's relative path, label and byte size (cheap: no decoding)."""
    digest = hashlib.sha256("\n".join(classes).encode())
    for path, label in samples:
        digest.update(f"\n{path.relative_to(root).as_posix()}:{label}:{os.path.getsize(path)}".encode())
    return digest.hexdigest()[:32]


def folder_fingerprint(root: str | Path) -> str:
    """:func:`dataset_fingerprint` of an ImageFolder tree (FileNotFoundError when it is absent)."""
    classes, samples = list_image_folder(root)
    return dataset_fingerprint(Path(root), classes, samples)
