"""The shared sidebar: pick a model and an image. Returns plain values; errors become messages, not traces."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import streamlit as st

import bcos_core

from . import compute
from .images import SAMPLE_NAMES, dataset_by_class, dataset_index, load_image, register_upload
from .model_picker import model_picker
from .state import init_widget, is_hidden, url_value, write_url
from .uploads import ALLOWED_FORMATS, ImageError, refusal

SOURCES = ("Sample photo", "Data set", "Upload")


@dataclass(frozen=True)
class Selection:
    model_name: str
    loaded: bcos_core.LoadedModel
    image_id: str
    crop: np.ndarray  # what the model sees (uint8 RGB)
    original: np.ndarray
    crop_box: tuple[int, int, int, int]  # in the original image's pixels


def _source_of(image_id: str) -> str:
    return {"sample": SOURCES[0], "data": SOURCES[1], "upload": SOURCES[2]}.get(image_id.partition(":")[0], SOURCES[0])


def image_picker(model_name: str) -> str | None:
    image_id = url_value("image", "sample:chelsea")
    init_widget("image_source", _source_of(image_id), choices=list(SOURCES))
    if is_hidden("image"):
        return image_id
    source = st.sidebar.radio("Image source", SOURCES, key="image_source", horizontal=True)
    if source == SOURCES[0]:
        init_widget("sample", image_id.partition(":")[2] if image_id.startswith("sample:") else SAMPLE_NAMES[0], choices=list(SAMPLE_NAMES))
        return "sample:" + st.sidebar.selectbox("Photo (ships with scikit-image)", SAMPLE_NAMES, key="sample")
    if source == SOURCES[1]:
        return _dataset_picker(model_name, image_id)
    upload = st.sidebar.file_uploader(
        "Upload an image",
        type=[f.lower() for f in ALLOWED_FORMATS] + ["jpg"],
        help="Any size: the centre square is resized to the model's input",
    )
    if upload is not None:
        try:
            return register_upload(upload.getvalue())
        except ImageError as error:
            st.sidebar.error(refusal(error))
            return None
    return image_id if image_id.startswith("upload:") else None


def _dataset_picker(model_name: str, image_id: str) -> str | None:
    """Class and number of an image of the model's data set (``registry.toml``). The widgets follow the current image
    when it was chosen elsewhere (URL, a jump from another page, the buttons), so the number shown is the image's own."""
    dataset = compute.get_model(model_name).metadata.dataset
    try:
        classes, by_class, where = dataset_by_class(dataset)
    except (FileNotFoundError, KeyError) as error:
        st.sidebar.warning(f"No {dataset} images: {error}. Point `BCOS_DATA_DIR` at the data folder or use a sample photo.")
        return None
    current = image_id.partition(":")[2] if image_id.startswith("data:") else ""
    current = current if current in where else by_class[0][0]
    if st.session_state.get("_data_image") != current or "data_class" not in st.session_state:
        label, position = where[current]
        st.session_state.update(data_class=label, data_pos=position, _data_image=current)
    else:  # keep the widgets' values when the visitor moves to another page (see init_widget)
        st.session_state.update(data_class=st.session_state["data_class"], data_pos=st.session_state["data_pos"])
    col1, col2 = st.sidebar.columns(2)
    restart = lambda: st.session_state.update(data_pos=0)  # noqa: E731  (a new class starts at its first image)
    label = col1.selectbox("Class", range(len(classes)), key="data_class", format_func=classes.__getitem__, on_change=restart)
    col2.number_input("Image #", 0, max(map(len, by_class)) - 1, key="data_pos")
    in_class = by_class[label]
    chosen = in_class[min(int(st.session_state["data_pos"]), len(in_class) - 1)]
    b1, b2, b3 = st.sidebar.columns(3)
    b1.button("Random", key="random_image", on_click=_jump_to, args=(model_name, "random"))
    b2.button("Wrong", key="misclassified", help="a misclassified image", on_click=_jump_to, args=(model_name, "misclassified"))
    b3.button("Unsure", key="uncertain", help="an image with a small top-1/top-2 margin", on_click=_jump_to, args=(model_name, "uncertain"))
    st.session_state["_data_image"] = chosen
    return "data:" + chosen


def show_image(image_id: str) -> None:
    """Callback: make ``image_id`` the sidebar's image on the next run (its source and picker follow)."""
    write_url(image=image_id)
    st.session_state["image_source"] = _source_of(image_id)


def _jump_to(model_name: str, kind: str) -> None:
    """Button callback: show a random, misclassified or uncertain test image."""
    picked = _pick(model_name, kind)
    if picked:
        show_image("data:" + picked)


def _pick(model_name: str, kind: str) -> str | None:
    if kind == "random":
        return random.choice(dataset_index(compute.get_model(model_name).metadata.dataset)[1])[0]
    ids, labels, logits = compute.dataset_predictions(model_name)
    if kind == "misclassified":
        candidates = [i for i, (lab, row) in enumerate(zip(labels, logits)) if row.argmax() != lab]
    else:
        top2 = np.sort(logits, axis=1)[:, -2:]
        candidates = list(np.argsort(top2[:, 1] - top2[:, 0])[:50])
    return ids[random.choice(candidates)].partition(":")[2] if candidates else None


def sidebar() -> Selection | None:
    """Model and image from the sidebar (and URL); ``None`` (with a message shown) when unusable."""
    picked = model_picker()
    if picked is None:
        return None
    model_name, loaded = picked
    image_id = image_picker(model_name)
    if image_id is None:
        st.info("Choose an image in the sidebar.")
        return None
    try:
        crop, box, resized = compute.model_input(model_name, image_id)
        original = load_image(image_id)
        sx, sy = original.shape[1] / resized[0], original.shape[0] / resized[1]
        box = (round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy))
    except KeyError as error:
        st.warning(str(error.args[0]))
        return None
    write_url(image=image_id)
    return Selection(model_name, loaded, image_id, crop, original, box)
