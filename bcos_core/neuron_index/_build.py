"""One streaming pass over an image folder that fills a neuron index: bounded memory, shardable, resumable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..compilation import compiled_if_worthwhile
from ..datasets import dataset_fingerprint, folder_label, list_image_folder
from ..layers import explorable_layers, forward_to, running_statistics
from ..preprocessing import Preprocess
from ._stats import LayerStats
from ._store import NeuronIndex, NeuronIndexError, load_index, model_fingerprint


class _ImageFiles(Dataset):
    """(encoded image, label, global index) for a contiguous range of an image folder's samples."""

    def __init__(self, samples: list[tuple[Path, int]], start: int, preprocess: Preprocess) -> None:
        self.samples, self.start, self.preprocess = samples, start, preprocess

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[Tensor, int, int]:
        path, label = self.samples[i]
        with Image.open(path) as image:
            return self.preprocess(image)[0], label, self.start + i


def shard_range(num_images: int, shard: tuple[int, int]) -> tuple[int, int]:
    """[start, stop) of shard i of n: contiguous, sizes differing by at most one image."""
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"shard must be i/n with 0 ≤ i < n, got {index}/{count}")
    return num_images * index // count, num_images * (index + 1) // count


def _channel_maxima(output: Tensor) -> tuple[Tensor, Tensor, tuple[int, int]]:
    """Per-image, per-channel maximum over positions, its flat position, and the map size, for (N, C[, H, W])."""
    flat = output.detach().float().flatten(2) if output.dim() > 2 else output.detach().float()[..., None]
    values, positions = flat.max(2)
    return values.cpu(), positions.cpu(), tuple(output.shape[2:]) if output.dim() == 4 else (1, 1)


def layer_maxima_pass(model: nn.Module, layers: Sequence[str]) -> Callable[[Tensor], dict]:
    """The index build's pass: images → each layer's per-image, per-channel maxima, their positions and map size."""

    def maxima_of_layers(images: Tensor) -> dict:
        return forward_to(model, images, layers, reduce=_channel_maxima, channels_first=True)

    return maxima_of_layers


def build_index(
    model: nn.Module,
    model_name: str,
    data_root: str | Path,
    preprocess: Preprocess,
    *,
    layers: Sequence[str] | None = None,
    k: int = 32,
    shard: tuple[int, int] = (0, 1),
    batch_size: int = 250,
    out_path: str | Path | None = None,
    save_every: int = 20,
    num_workers: int = 1,
    progress: bool = True,
    compile: str = "off",
) -> NeuronIndex:
    """Stream (a shard of) an ImageFolder through ``model`` and keep each channel's top-k images and statistics.

    With ``out_path`` the partial index is saved every ``save_every`` batches and a build that finds an
    unfinished index of the same model, data, layers, k and shard there continues from it. Memory is
    O(channels · k) per layer, independent of the number of images. Images go to the model's device (a GPU when
    the model is on one); the statistics stay on the CPU. ``compile`` ("auto", "on", "off") runs the pass under
    ``torch.compile`` (:func:`~bcos_core.compilation.compiled_if_worthwhile`, "auto" judged by the whole folder's size,
    so that every shard of a build makes the same choice; maxima then differ from eager ones by rounding, so a
    near-tie can pick another position).
    """
    root = Path(data_root)
    classes, samples = list_image_folder(root)
    layers = list(layers) if layers else explorable_layers(model)
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise KeyError(f"model has no layers {missing}; indexable layers: {', '.join(explorable_layers(model))}")
    start, stop = shard_range(len(samples), shard)
    if stop == start:
        raise ValueError(f"shard {shard[0]}/{shard[1]} of {len(samples)} images is empty: use fewer shards")
    header = {
        "model": {"name": model_name, "fingerprint": model_fingerprint(model)},
        "dataset": {
            "folder": folder_label(root),
            "fingerprint": dataset_fingerprint(root, classes, samples),
            "num_images": len(samples),
            "classes": classes,
        },
        "layers": layers,
        "k": k,
        "shard": list(shard),
        "image_range": [start, stop],
        "next_image": start,
    }
    index = _resume(out_path, header) or NeuronIndex(header)
    first = index.header["next_image"]
    device = next(model.parameters()).device
    loader = DataLoader(
        _ImageFiles(samples[first:stop], first, preprocess),
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    index_pass = compiled_if_worthwhile(layer_maxima_pass(model, layers), compile, len(samples))  # the folder's size: every shard alike
    with (
        torch.inference_mode(),
        running_statistics(model),
        tqdm(total=stop - start, initial=first - start, unit="img", desc=f"indexing {model_name}", disable=not progress) as bar,
    ):
        for step, (images, labels, numbers) in enumerate(loader, 1):
            reduced = index_pass(images.to(device, non_blocking=True))
            for name in layers:
                maxima, positions, map_size = reduced[name]
                if name not in index.layers:
                    index.layers[name] = LayerStats.empty(maxima.shape[1], k, map_size)
                index.layers[name].update(maxima, positions, numbers, labels)
            index.header["next_image"] = int(numbers[-1]) + 1
            bar.update(len(images))
            if out_path is not None and step % save_every == 0:
                index.save(out_path)
    if out_path is not None:
        index.save(out_path)
    return index


def _resume(out_path: str | Path | None, header: dict) -> NeuronIndex | None:
    """The (partial) index at ``out_path`` if it belongs to this very build; otherwise None (start afresh)."""
    if out_path is None or not Path(out_path).exists():
        return None
    try:
        previous = load_index(out_path)
    except NeuronIndexError:
        return None
    same = previous.identity() == NeuronIndex(header).identity() and previous.header["shard"] == header["shard"]
    return previous if same and previous.header["image_range"] == header["image_range"] else None
