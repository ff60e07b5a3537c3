"""Cached model loading and explanation results, keyed by small ids (model name, image id, class, layer…).

Pages call these functions; they hold no Streamlit widgets. Results are plain numpy arrays and floats so
``st.cache_data`` can store them cheaply.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import streamlit as st
import torch
from PIL import Image

import bcos_core
from bcos_core.explain import delta_between
from bcos_core.preprocessing import encode_crop
from bcos_core.registry import get_dataset

from .images import load_image
from .pipeline import ExplainedMap, reduce_explanation

INFERENCE_SLOTS_ENV_VAR = "BCOS_INFERENCE_SLOTS"
INFERENCE_SLOTS = max(1, int(os.environ.get(INFERENCE_SLOTS_ENV_VAR, "2") or 2))
_slots = threading.BoundedSemaphore(INFERENCE_SLOTS)
_held = threading.local()
F = TypeVar("F", bound=Callable)


def uses_model(fn: F) -> F:
    """Run ``fn`` in one of ``INFERENCE_SLOTS`` slots: many visitors at once queue for the cores instead of
    oversubscribing them (re-entrant; put it under the cache decorator, so cache hits never wait)."""

    @functools.wraps(fn)
    def in_slot(*args, **kwargs):
        if getattr(_held, "depth", 0):
            return fn(*args, **kwargs)
        with _slots:
            _held.depth = 1
            try:
                return fn(*args, **kwargs)
            finally:
                _held.depth = 0

    return in_slot  # type: ignore[return-value]


def configure_inference() -> int:
    """Give each inference slot an equal share of the cores (torch threads per computation); returns that number.
    Called by the server launcher (``app.serve``), not on import, so tests keep torch's default."""
    threads = max(1, (os.cpu_count() or 1) // INFERENCE_SLOTS)
    torch.set_num_threads(threads)
    return threads


@st.cache_resource(show_spinner="Loading model…", max_entries=6)
def get_model(name: str) -> bcos_core.LoadedModel:
    """Load once per server (shared, read-only: never mutated per request)."""
    return bcos_core.load_model(name)


@st.cache_data(show_spinner=False, max_entries=64)
def model_input(model_name: str, image_id: str) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int]]:
    """(crop the model sees as uint8 RGB, crop box in the resized image, resized size) for an image."""
    preprocess = get_model(model_name).preprocess
    image = Image.fromarray(load_image(image_id))
    resized = preprocess.resized_size(*image.size)
    return preprocess.to_array(image), preprocess.crop_box(*image.size), resized


@st.cache_data(show_spinner=False, max_entries=128)
@uses_model
def predictions(model_name: str, image_id: str) -> np.ndarray:
    """Logits of the image (float64 numpy)."""
    crop, _, _ = model_input(model_name, image_id)
    return bcos_core.class_logits(get_model(model_name).model, encode_crop(crop)).double().numpy()


@st.cache_data(show_spinner="Explaining…", max_entries=256)
@uses_model
def class_explanations(model_name: str, image_id: str, classes: tuple[int, ...]) -> list[ExplainedMap]:
    """Explanations of several classes (one forward and one batched backward pass)."""
    crop, _, _ = model_input(model_name, image_id)
    explanations = bcos_core.explain_classes(get_model(model_name).model, encode_crop(crop), list(classes))
    return [reduce_explanation(e) for e in explanations]


@st.cache_data(show_spinner="Explaining…", max_entries=128)
@uses_model
def pair_explanations(model_name: str, image_id: str, class_1: int, class_2: int) -> tuple[ExplainedMap, ExplainedMap, ExplainedMap]:
    """Both classes and their Δ-explanation from one forward and one batched backward pass."""
    crop, _, _ = model_input(model_name, image_id)
    first, second = bcos_core.explain_classes(get_model(model_name).model, encode_crop(crop), [class_1, class_2])
    return tuple(reduce_explanation(e) for e in (first, second, delta_between(first, second)))


@st.cache_data(show_spinner=False, max_entries=64)
@uses_model
def activations(model_name: str, image_id: str, layer: str) -> np.ndarray:
    """(C, h, w) activations of a layer for the image."""
    crop, _, _ = model_input(model_name, image_id)
    return bcos_core.layer_activations(get_model(model_name).model, encode_crop(crop), layer).double().numpy()


@st.cache_data(show_spinner=False, max_entries=64)
@uses_model
def attention(model_name: str, image_id: str, block: str) -> np.ndarray:
    """(heads, tokens, tokens) attention pattern of a ViT's attention module for the image."""
    from bcos_core.attention import attention_pattern

    crop, _, _ = model_input(model_name, image_id)
    return attention_pattern(get_model(model_name).model, encode_crop(crop), block).double().numpy()


@st.cache_data(show_spinner="Explaining neuron…", max_entries=256)
@uses_model
def neuron_explanation(model_name: str, image_id: str, layer: str, channel: int, position: tuple[int, int] | None) -> ExplainedMap:
    crop, _, _ = model_input(model_name, image_id)
    expl = bcos_core.explain_neuron(get_model(model_name).model, encode_crop(crop), layer, channel, position)
    return reduce_explanation(expl)


@st.cache_data(show_spinner="Classifying the data set's images…", max_entries=8)
@uses_model
def dataset_predictions(model_name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(image ids, labels, logits) of the first images of the model's data set, classes interleaved (stable order):
    as many as the data set's ``scan_images`` in ``registry.toml``."""
    from bcos_core.metrics import predict_logits

    from .images import dataset_index

    dataset = get_model(model_name).metadata.dataset
    limit = get_dataset(dataset).scan_images
    _, samples = dataset_index(dataset)
    per_class: dict[int, list[str]] = {}
    for path, label in samples:
        per_class.setdefault(label, []).append(path)
    rows = [(path, label) for group in zip(*per_class.values()) for path, label in zip(group, per_class)][:limit]
    ids = [f"data:{path}" for path, _ in rows]
    model = get_model(model_name)
    crops = np.stack([model.preprocess.to_array(Image.fromarray(load_image(i))) for i in ids])
    logits = predict_logits(model.model, torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous()).double().numpy()
    return ids, np.array([label for _, label in rows]), logits
