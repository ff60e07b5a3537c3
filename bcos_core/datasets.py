"""Finding images on disk: ImageFolder trees (``root/<class>/<image>``) and the configured data folder."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DATA_ENV_VAR = "BCOS_DATA_DIR"


def default_data_root() -> Path:
    """The data folder: ``$BCOS_DATA_DIR`` or ``../shared/data`` next to the project."""
    env = os.environ.get(DATA_ENV_VAR)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def folder_label(root: str | Path) -> str:
    """How an index names its image folder: the path inside the data folder ("cifar10/test", "imagenet-samples") so
    that it moves with ``$BCOS_DATA_DIR``, or the absolute path of a folder elsewhere."""
    root = Path(root).resolve()
    try:
        return root.relative_to(default_data_root().resolve()).as_posix()
    except ValueError:
        return root.as_posix()


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


def export_image_folder(samples: Iterable[tuple[Image.Image, int]], classes: list[str], root: str | Path) -> int:
    """Write (image, label) pairs as ``root/<class>/<number>.png`` (lossless); returns how many were written."""
    root = Path(root)
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
    count = 0
    for count, (image, label) in enumerate(samples, 1):
        image.save(root / classes[label] / f"{count - 1:05d}.png")
    return count


def download_cifar10(root: str | Path) -> Path:
    """Download CIFAR-10 with torchvision (needs internet) and write it as ``root/cifar10/{train,test}`` PNG folders.

    These are the official images, not the JPEG copy the shipped results were computed on, so a neuron index
    must be built for them (``python -m bcos_core.neuron_index build``).
    """
    from torchvision.datasets import CIFAR10

    root = Path(root)
    for split, train in (("train", True), ("test", False)):
        data = CIFAR10(str(root / ".cifar10-download"), train=train, download=True)
        export_image_folder(data, list(data.classes), root / "cifar10" / split)
    return root / "cifar10"


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "download-cifar10":
        sys.exit("usage: python -m bcos_core.datasets download-cifar10 DIR   (then: export BCOS_DATA_DIR=DIR)")
    print(f"CIFAR-10 written to {download_cifar10(sys.argv[2])}")
