"""A neuron's best images, ranked and explained: channels by a score of the index, and each top image with the
neuron's exact explanation at its stored maximum (and at a clearly separate second peak)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..explain import NeuronExplanation, explain_neurons, layer_outputs
from ..preprocessing import encode_images
from ._store import NeuronIndex

CHANNEL_SCORES = ("mean_max", "specificity", "purity")
SECOND_PEAK_RATIO = 0.5  # a second position is explained when it reaches this share of the maximum and its receptive field does not overlap


def channel_scores(index: NeuronIndex, layer: str) -> dict[str, np.ndarray]:
    """Per channel of ``layer``: mean per-image maximum, specificity (top-k vs typical image) and class purity of the top-k."""
    stats = index.layers[layer]
    return {
        "mean_max": stats.mean_max.numpy(),
        "specificity": stats.specificity.numpy(),
        "purity": stats.class_purity(len(index.class_names)).numpy(),
    }


def rank_channels(index: NeuronIndex, layer: str, score: str) -> list[int]:
    """Channels of ``layer`` from the highest ``score`` (one of :data:`CHANNEL_SCORES`) down; ties keep channel order."""
    return [int(c) for c in np.argsort(-channel_scores(index, layer)[score], kind="stable")]


def second_peak(channel_map: np.ndarray, first: tuple[int, int], box: tuple[int, int, int, int], stride: float) -> tuple[int, int] | None:
    """The highest position whose receptive field (as large as ``box``, the first's) cannot overlap the first's, if it
    reaches :data:`SECOND_PEAK_RATIO` of the maximum."""
    height, width = box[2] - box[0], box[3] - box[1]
    rows, cols = np.mgrid[0 : channel_map.shape[0], 0 : channel_map.shape[1]]
    separate = (np.abs(rows - first[0]) * stride >= height) | (np.abs(cols - first[1]) * stride >= width)
    if not separate.any():
        return None
    masked = np.where(separate, channel_map, -np.inf)
    position = tuple(int(i) for i in np.unravel_index(np.argmax(masked), masked.shape))
    return position if masked[position] >= SECOND_PEAK_RATIO * channel_map[first] > 0 else None


@dataclass(frozen=True)
class ExplainedTop:
    """One top image of a neuron with the neuron's explanation at its maximum (and at a separate second peak)."""

    image_number: int
    label: str
    crop: np.ndarray  # (H, W, 3) uint8, what the model saw
    first: NeuronExplanation
    second: NeuronExplanation | None


def explain_top_images(
    model: nn.Module,
    index: NeuronIndex,
    layer: str,
    channel: int,
    count: int,
    crop_of: Callable[[int], np.ndarray],
    class_names: Sequence[str] | None = None,
) -> list[ExplainedTop]:
    """The neuron's top ``count`` images (``crop_of`` gives the model's crop of an image number) explained at their
    stored maxima in one batched pass, and at second peaks where clearly separate in a second pass. Labels are named by
    ``class_names`` (default: the index's folder names, e.g. ImageNet's wnids)."""
    class_names = class_names or index.class_names
    stats = index.layers[layer]
    numbers = [int(i) for i in stats.top_images[channel, :count] if i >= 0]
    if not numbers:
        return []
    crops = [crop_of(number) for number in numbers]
    images = encode_images(torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2))
    explanations = explain_neurons(model, images, layer, channel, [stats.position(channel, slot) for slot in range(len(numbers))])
    maps = layer_outputs(model, images, layer)[:, channel].double().numpy()
    stride = images.shape[-1] / maps.shape[-1]
    seconds = [second_peak(m, e.position, e.receptive_field, stride) for m, e in zip(maps, explanations)]
    wanted = [i for i, s in enumerate(seconds) if s is not None]
    second_expl = dict(zip(wanted, explain_neurons(model, images[wanted], layer, channel, [seconds[i] for i in wanted]))) if wanted else {}
    return [
        ExplainedTop(number, class_names[int(stats.top_labels[channel, slot])], crop, expl, second_expl.get(slot))
        for slot, (number, crop, expl) in enumerate(zip(numbers, crops, explanations))
    ]
