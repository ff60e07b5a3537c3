"""The neuron gallery's data: the model's neuron index, its dataset, concept labels and explained top-k tiles.

Pure functions plus Streamlit caches; no widgets. A tile is one top-k image of a neuron cropped to the
receptive field of the neuron's maximum there, with the neuron's own exact explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

import bcos_core
from bcos_core.datasets import dataset_fingerprint, default_data_root, list_image_folder
from bcos_core.neuron_index import (
    ConceptLabels,
    ExplainedTop,
    NeuronIndex,
    NeuronIndexError,
    channel_scores,
    explain_top_images,
    find_indexes,
    labels_path,
    load_index,
    model_fingerprint,
    rank_channels,
)
from bcos_core.render import diverging_rgb, explanation_to_rgba, rgba_over_background, symmetric_limit, upscale_nearest

from .compute import get_model, uses_model
from .memo import cached_by_content
from .settings import operator_settings

RANKINGS = {
    "mean maximum activation": "mean_max",
    "specificity (top-k vs typical image)": "specificity",
    "class purity of the top-k": "purity",
}
TILE_VIEWS = ("Image crop", "Explanation (RGBA)", "Contributions")
TILE_PIXELS = 96  # tiles are upscaled to this size


@dataclass(frozen=True)
class Gallery:
    """A model's index and, when the configured data folder matches it, the image list it refers to."""

    index: NeuronIndex
    path: Path
    samples: list[tuple[Path, int]] | None
    data_problem: str | None  # why images cannot be shown (None when they can)
    class_names: list[str]  # the model's names for the index's classes (folder names such as ImageNet's wnids otherwise)


@st.cache_resource(show_spinner="Loading the neuron index…", max_entries=4)
def open_gallery(model_name: str) -> Gallery:
    """The first index built for this model; NeuronIndexError (with what to do) when there is none or it is stale."""
    paths = find_indexes(model_name)
    if not paths:
        raise NeuronIndexError(
            f"no neuron index for {model_name} yet: build one with `python -m bcos_core.neuron_index build --model {model_name}` (about "
            "a minute for 10,000 CIFAR images)"
        )
    index = load_index(paths[0])
    loaded = get_model(model_name)
    index.check_matches(model_fingerprint(loaded.model))
    names = loaded.class_names if len(loaded.class_names) == len(index.class_names) else index.class_names
    root = default_data_root() / index.header["dataset"]["folder"]
    try:
        classes, samples = list_image_folder(root)
        index.check_matches(data_fp=dataset_fingerprint(root, classes, samples))
    except (FileNotFoundError, NeuronIndexError) as error:
        return Gallery(index, paths[0], None, str(error), names)
    return Gallery(index, paths[0], samples, None, names)


def indexed_layers(model_name: str) -> set[str]:
    """Layers the model's neuron index holds (empty when it has no usable index)."""
    try:
        return set(open_gallery(model_name).index.layers)
    except NeuronIndexError:
        return set()


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
    """Channels of a layer from the highest score (a :data:`RANKINGS` label) down, and every score per channel."""
    return rank_channels(gallery.index, layer, RANKINGS[ranking]), channel_scores(gallery.index, layer)


@st.cache_data(show_spinner=False, max_entries=4096)
def dataset_crop(model_name: str, image_number: int) -> np.ndarray:
    """The (size, size, 3) uint8 crop the model sees of image ``image_number`` of the model's index."""
    gallery = open_gallery(model_name)
    path, _ = gallery.samples[image_number]
    with Image.open(path) as image:
        return get_model(model_name).preprocess.to_array(image)


def top_image_crops(model_name: str, layer: str, channel: int, count: int) -> np.ndarray | None:
    """(N, S, S, 3) uint8 crops of the channel's top ``count`` images; None when the index lacks the layer or its images
    are not in the data folder."""
    gallery = open_gallery(model_name)
    if gallery.samples is None or layer not in gallery.index.layers:
        return None
    numbers = [int(i) for i in gallery.index.layers[layer].top_images[channel, :count] if i >= 0]
    return np.stack([dataset_crop(model_name, i) for i in numbers])


def thumbnail(model_name: str, layer: str, channel: int, count: int = 4) -> np.ndarray:
    """The channel's top ``count`` images side by side (no explanation: fast enough for a grid)."""
    index = open_gallery(model_name).index
    return _joined_top_images(model_name, index.header["model"], layer, channel, count)


@cached_by_content(4096)
def _joined_top_images(model_name: str, indexed_model: dict, layer: str, channel: int, count: int) -> np.ndarray:
    """Put together once per indexed model (a CIFAR thumbnail is 12 kB; read-only, visitors share it)."""
    return np.concatenate(list(top_image_crops(model_name, layer, channel, count)), axis=1)


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


def _views(
    expl: bcos_core.NeuronExplanation, crop: np.ndarray, smooth: int, percentile: float, background: str, limit: float
) -> dict[str, np.ndarray]:
    top, left, bottom, right = expl.receptive_field
    window = (slice(top, bottom), slice(left, right))
    rgba = explanation_to_rgba(expl.image, expl.linear_map, smooth, percentile)
    images = {
        TILE_VIEWS[0]: crop,
        TILE_VIEWS[1]: rgba_over_background(rgba, background),
        TILE_VIEWS[2]: diverging_rgb(expl.contributions.numpy(), limit),
    }
    return {name: upscale_nearest(np.ascontiguousarray(image[window]), TILE_PIXELS) for name, image in images.items()}


@st.cache_data(show_spinner="Explaining the top images…", max_entries=64)
@uses_model
def neuron_top_explanations(model_name: str, layer: str, channel: int, count: int) -> tuple[list[ExplainedTop], float]:
    """The neuron's explained top images (``bcos_core.neuron_index.explain_top_images``) and their shared contribution
    colour limit; cached per neuron, independent of rendering."""
    gallery = open_gallery(model_name)
    tops = explain_top_images(
        get_model(model_name).model, gallery.index, layer, channel, count, lambda n: dataset_crop(model_name, n), gallery.class_names
    )
    return tops, symmetric_limit([top.first.contributions for top in tops])


@st.cache_data(show_spinner=False, max_entries=256)
def neuron_tiles(
    model_name: str, layer: str, channel: int, count: int, smooth: int, percentile: float, background: str = "black"
) -> list[Tile]:
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
