"""The neuron gallery's data: the model's neuron index, its dataset, concept labels and explained top-k tiles.

Pure functions plus Streamlit caches; no widgets. A tile is one top-k image of a neuron cropped to the
receptive field of the neuron's maximum there, with the neuron's own exact explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch
from PIL import Image

import bcos_core
from bcos_core.datasets import dataset_fingerprint, default_data_root, list_image_folder
from bcos_core.explain import layer_outputs
from bcos_core.neuron_index import ConceptLabels, NeuronIndex, NeuronIndexError, find_indexes, labels_path, load_index, model_fingerprint
from bcos_core.preprocessing import encode_images
from bcos_core.render import diverging_rgb, explanation_to_rgba, rgba_over_background, symmetric_limit, upscale_nearest

from .compute import get_model, uses_model
from .settings import operator_settings

RANKINGS = {
    "mean maximum activation": "mean_max",
    "specificity (top-k vs typical image)": "specificity",
    "class purity of the top-k": "purity",
}
TILE_VIEWS = ("Image crop", "Explanation (RGBA)", "Contributions")
SECOND_PEAK_RATIO = 0.5  # a second position is shown when it reaches this share of the maximum…
TILE_PIXELS = 96  # …and its receptive field does not overlap the first; tiles are upscaled to this size


@dataclass(frozen=True)
class Gallery:
    """A model's index and, when the configured data folder matches it, the image list it refers to."""

    index: NeuronIndex
    path: Path
    samples: list[tuple[Path, int]] | None
    data_problem: str | None  # why images cannot be shown (None when they can)


@st.cache_resource(show_spinner="Loading the neuron index…", max_entries=4)
def open_gallery(model_name: str) -> Gallery:
    """The first index built for this model; NeuronIndexError (with what to do) when there is none or it is stale."""
    paths = find_indexes(model_name)
    if not paths:
        raise NeuronIndexError(f"no neuron index for {model_name} yet: build one with `python -m bcos_core.neuron_index build --model {model_name}` (about a minute for 10,000 CIFAR images)")
    index = load_index(paths[0])
    index.check_matches(model_fingerprint(get_model(model_name).model))
    root = default_data_root() / index.header["dataset"]["folder"]
    try:
        classes, samples = list_image_folder(root)
        index.check_matches(data_fp=dataset_fingerprint(root, classes, samples))
    except (FileNotFoundError, NeuronIndexError) as error:
        return Gallery(index, paths[0], None, str(error))
    return Gallery(index, paths[0], samples, None)


def _labels_file(gallery: Gallery) -> Path | None:
    """The shared labels file when the operator turned the label store on (see ``app.settings``), else None."""
    store = operator_settings().label_store
    return store / labels_path(gallery.path).name if store else None


def concept_labels(gallery: Gallery) -> ConceptLabels:
    """This visitor's labels (kept in the session), or the operator's shared store read fresh on every run."""
    fingerprint = gallery.index.header["model"]["fingerprint"]
    shared = _labels_file(gallery)
    if shared is not None:
        return ConceptLabels.load(shared, fingerprint)
    return st.session_state.setdefault(f"_labels:{fingerprint}", ConceptLabels(fingerprint))


def save_labels(gallery: Gallery, labels: ConceptLabels) -> None:
    """Keep edited labels: in the session, or (operator setting) atomically in the shared store."""
    shared = _labels_file(gallery)
    if shared is not None:
        shared.parent.mkdir(parents=True, exist_ok=True)
        labels.save(shared)
    else:
        st.session_state[f"_labels:{labels.model_fingerprint}"] = labels


def labels_are_shared() -> bool:
    return operator_settings().label_store is not None


def ranked_channels(gallery: Gallery, layer: str, ranking: str) -> tuple[list[int], dict[str, np.ndarray]]:
    """Channels of a layer from the highest score down, and every score per channel."""
    stats = gallery.index.layers[layer]
    scores = {
        "mean_max": stats.mean_max.numpy(),
        "specificity": stats.specificity.numpy(),
        "purity": stats.class_purity(len(gallery.index.class_names)).numpy(),
    }
    order = np.argsort(-scores[RANKINGS[ranking]], kind="stable")
    return [int(c) for c in order], scores


@st.cache_data(show_spinner=False, max_entries=4096)
def dataset_crop(model_name: str, image_number: int) -> np.ndarray:
    """The (size, size, 3) uint8 crop the model sees of image ``image_number`` of the model's index."""
    gallery = open_gallery(model_name)
    path, _ = gallery.samples[image_number]
    with Image.open(path) as image:
        return get_model(model_name).preprocess.to_array(image)


def thumbnail(model_name: str, layer: str, channel: int, count: int = 4) -> np.ndarray:
    """The channel's top ``count`` images side by side (no explanation: fast enough for a grid)."""
    stats = open_gallery(model_name).index.layers[layer]
    numbers = [int(i) for i in stats.top_images[channel, :count] if i >= 0]
    return np.concatenate([dataset_crop(model_name, i) for i in numbers], axis=1)


@dataclass(frozen=True)
class Tile:
    """One explained top-k image: the views of the receptive-field crop around the neuron's maximum."""

    image_number: int
    label: str
    activation: float
    views: dict[str, np.ndarray]  # TILE_VIEWS → (h, w, 3) uint8, upscaled
    second: dict[str, np.ndarray] | None  # the same views around a clearly separate second peak
    second_ratio: float
    completeness_error: float


def _views(expl: bcos_core.NeuronExplanation, crop: np.ndarray, smooth: int, percentile: float, background: str, limit: float) -> dict[str, np.ndarray]:
    top, left, bottom, right = expl.receptive_field
    window = (slice(top, bottom), slice(left, right))
    rgba = explanation_to_rgba(expl.image, expl.linear_map, smooth, percentile)
    images = {
        TILE_VIEWS[0]: crop,
        TILE_VIEWS[1]: rgba_over_background(rgba, background),
        TILE_VIEWS[2]: diverging_rgb(expl.contributions.numpy(), limit),
    }
    return {name: upscale_nearest(np.ascontiguousarray(image[window]), TILE_PIXELS) for name, image in images.items()}


def _second_peak(channel_map: np.ndarray, first: tuple[int, int], box: tuple[int, int, int, int], stride: float) -> tuple[int, int] | None:
    """The highest position whose receptive field (same size as the first's) cannot overlap the first's, if it
    reaches SECOND_PEAK_RATIO of the maximum."""
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
    crop: np.ndarray
    first: bcos_core.NeuronExplanation
    second: bcos_core.NeuronExplanation | None


@st.cache_data(show_spinner="Explaining the top images…", max_entries=64)
@uses_model
def neuron_top_explanations(model_name: str, layer: str, channel: int, count: int) -> tuple[list[ExplainedTop], float]:
    """The neuron's top ``count`` images explained at their stored maxima (one batched pass), plus second peaks
    where clearly separate (a second pass); and the shared contribution colour limit. Independent of rendering."""
    gallery, loaded = open_gallery(model_name), get_model(model_name)
    stats = gallery.index.layers[layer]
    numbers = [int(i) for i in stats.top_images[channel, :count] if i >= 0]
    crops = [dataset_crop(model_name, i) for i in numbers]
    images = encode_images(torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2))
    explanations = bcos_core.explain_neurons(loaded.model, images, layer, channel, [stats.position(channel, slot) for slot in range(len(numbers))])
    maps = layer_outputs(loaded.model, images, layer)[:, channel].double().numpy()
    stride = images.shape[-1] / maps.shape[-1]
    seconds = [_second_peak(m, e.position, e.receptive_field, stride) for m, e in zip(maps, explanations)]
    wanted = [i for i, s in enumerate(seconds) if s is not None]
    second_expl = dict(zip(wanted, bcos_core.explain_neurons(loaded.model, images[wanted], layer, channel, [seconds[i] for i in wanted]))) if wanted else {}
    tops = [
        ExplainedTop(number, gallery.index.class_names[int(stats.top_labels[channel, slot])], crop, expl, second_expl.get(slot))
        for slot, (number, crop, expl) in enumerate(zip(numbers, crops, explanations))
    ]
    return tops, symmetric_limit([e.contributions for e in explanations])


@st.cache_data(show_spinner=False, max_entries=256)
def neuron_tiles(model_name: str, layer: str, channel: int, count: int, smooth: int, percentile: float, background: str = "black") -> list[Tile]:
    """The neuron's explained top images drawn with the given rendering options (the model runs only once per neuron)."""
    tops, limit = neuron_top_explanations(model_name, layer, channel, count)
    return [
        Tile(
            image_number=top.image_number,
            label=top.label,
            activation=top.first.activation,
            views=_views(top.first, top.crop, smooth, percentile, background, limit),
            second=_views(top.second, top.crop, smooth, percentile, background, limit) if top.second else None,
            second_ratio=top.second.activation / top.first.activation if top.second else 0.0,
            completeness_error=top.first.completeness_error,
        )
        for top in tops
    ]
