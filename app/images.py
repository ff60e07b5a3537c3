"""Image sources for the app: offline sample photos, the configured data set, and uploads, all by a small id.

An image id is a short string ("sample:chelsea", "data:cifar10/test/cat/0007.jpg" (a path in the data folder),
"upload:<sha1>") so that URLs and caches can refer to images without carrying pixels.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from bcos_core.datasets import default_data_root, list_image_folder
from bcos_core.registry import get_dataset

from .uploads import load_upload

SAMPLE_NAMES = ("chelsea", "astronaut", "coffee", "rocket", "camera")
_UPLOADS: dict[str, np.ndarray] = {}  # decoded uploads by content hash (small, bounded below)
_MAX_UPLOADS = 64


@lru_cache(maxsize=len(SAMPLE_NAMES))
def sample_image(name: str) -> np.ndarray:
    """A photo shipped inside scikit-image (works offline), decoded once per server: every page run shows it in the
    sidebar. Read-only, since every visitor shares the one array."""
    import skimage.data

    if name not in SAMPLE_NAMES:
        raise KeyError(f"unknown sample {name!r}; samples: {', '.join(SAMPLE_NAMES)}")
    array = getattr(skimage.data, name)()
    array = np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array
    array.setflags(write=False)
    return array


def dataset_images_root(dataset: str) -> Path:
    """The image folder of a registered data set (``registry.toml``) in the configured data folder."""
    return default_data_root() / get_dataset(dataset).images


@lru_cache(maxsize=4)
def dataset_index(dataset: str) -> tuple[list[str], list[tuple[str, int]]]:
    """(class names, [(path relative to the data folder, label)]) of a data set's images; FileNotFoundError if absent."""
    root = dataset_images_root(dataset)
    folders, samples = list_image_folder(root)
    names = get_dataset(dataset).class_names()
    if len(folders) != len(names):
        raise FileNotFoundError(f"{root} has {len(folders)} class folders; the {dataset} data set has {len(names)} classes")
    data_root = default_data_root()
    return names, [(path.relative_to(data_root).as_posix(), label) for path, label in samples]


@lru_cache(maxsize=4)
def dataset_by_class(dataset: str) -> tuple[list[str], list[list[str]], dict[str, tuple[int, int]]]:
    """(class names, each class's image paths, path → (label, position in its class)): what the image picker needs on
    every page run, built once per data set (about 16 ms for 10,000 images)."""
    classes, samples = dataset_index(dataset)
    by_class: list[list[str]] = [[] for _ in classes]
    for path, label in samples:
        by_class[label].append(path)
    where = {path: (label, position) for label, paths in enumerate(by_class) for position, path in enumerate(paths)}
    return classes, by_class, where


def short_name(image_id: str) -> str:
    """How a list names an image: class folder and file for data-set images ("cat/0007.jpg"), else the id's name."""
    kind, _, name = image_id.partition(":")
    return "/".join(name.split("/")[-2:]) if kind == "data" else name


def register_upload(data: bytes) -> str:
    """Validate and remember an upload; returns its image id (raises ``ImageError`` for bad files)."""
    array = load_upload(data)
    image_id = "upload:" + hashlib.sha1(data).hexdigest()[:16]
    if len(_UPLOADS) >= _MAX_UPLOADS:
        _UPLOADS.pop(next(iter(_UPLOADS)))
    _UPLOADS[image_id] = array
    return image_id


def load_image(image_id: str) -> np.ndarray:
    """(H, W, 3) uint8 pixels of an image id; KeyError with a message when it cannot be found."""
    kind, _, name = image_id.partition(":")
    if kind == "sample":
        return sample_image(name)
    if kind == "data":
        root = default_data_root()
        path = (root / name).resolve()
        if root.resolve() not in path.parents or not path.is_file():
            raise KeyError(f"image {name!r} is not in the data folder {root}")
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    if kind == "upload" and image_id in _UPLOADS:
        return _UPLOADS[image_id]
    raise KeyError(f"unknown image {image_id!r} (uploads are kept only while the server runs; upload it again)")
