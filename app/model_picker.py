"""The sidebar's model picker: registered models with their data set and accuracy, official release files downloaded
with a progress bar, and (where the operator allows it) a model file by path, ours or in the official format."""

from __future__ import annotations

import streamlit as st

import bcos_core
from bcos_core import registry
from bcos_core.checkpoints import CheckpointError
from bcos_core.models import list_architectures
from bcos_core.official import fetch_official
from bcos_core.zoo import OFFICIAL_FORMAT_SUFFIXES

from . import compute
from .settings import operator_settings
from .state import is_hidden, url_value, write_url

CUSTOM = "Checkpoint file…"


def app_architectures() -> list[str]:
    """Architectures a file can be loaded as in the dashboard: every B-cos one (a ViT's tokens are shown as their grid,
    its positional embedding as its own line of the exactness readout)."""
    return list_architectures()


def model_choices() -> list[str]:
    """Registered B-cos models, plus a checkpoint-path box only where the operator allows it (app.settings)."""
    custom = [CUSTOM] if operator_settings().allow_checkpoint_paths else []
    return bcos_core.list_models() + custom


def model_label(name: str) -> str:
    """A picker entry: name, data set and accuracy (registry)."""
    if not registry.is_registered(name):
        return name
    entry = registry.get_entry(name)
    return f"{name} · {entry.dataset} · {entry.accuracy:.1%}" + (" reported" if entry.accuracy_source.startswith("reported") else "")


def model_picker() -> tuple[str, bcos_core.LoadedModel] | None:
    choices = model_choices()
    current = url_value("model", bcos_core.DEFAULT_MODEL)
    if current not in choices and CUSTOM not in choices:
        st.sidebar.warning(f"This server does not load models by path; showing {bcos_core.DEFAULT_MODEL} instead of {current!r}.")
        current = bcos_core.DEFAULT_MODEL
    if "model_choice" not in st.session_state:
        arch, separator, path = current.partition(":")
        official_format = bool(separator) and arch in app_architectures()
        st.session_state["model_choice"] = current if current in choices else CUSTOM
        st.session_state["model_path"] = "" if current in choices else path if official_format else current
        st.session_state["model_arch"] = arch if official_format else "bcos_resnet50_imagenet"
    else:  # keep the choice when the user moves to another page (see init_widget)
        for key in ("model_choice", "model_path", "model_arch"):
            st.session_state[key] = st.session_state[key]
    if not is_hidden("model"):
        st.sidebar.selectbox(
            "Model",
            choices,
            key="model_choice",
            format_func=model_label,
            help="Shipped models and official B-cos v2 ImageNet models (downloaded on first use); top-1 accuracy as measured or reported",
        )
        if st.session_state["model_choice"] == CUSTOM:
            _checkpoint_path_inputs()
    name = st.session_state["model_choice"] if st.session_state["model_choice"] != CUSTOM else _checkpoint_name()
    if not name:
        st.info("Enter the path of a model file (a `.safetensors` with its `.json`, or an official-format `.pth`) in the sidebar.")
        return None
    try:
        _download_with_progress(name)
        loaded = compute.get_model(name)
    except CheckpointError as error:
        st.error(f"Cannot load model: {error}")
        return None
    write_url(model=name)
    meta = loaded.metadata
    accuracy = meta.metrics.get("test_accuracy", meta.metrics.get("top1_reported"))
    st.sidebar.caption(
        f"{meta.arch}, B = {meta.b:g}, {len(loaded.class_names)} classes"
        + (", logits averaged over the image and its mirror image" if meta.arch_kwargs.get("mirror_average") else "")
        + (f", accuracy {accuracy:.1%}" if accuracy and accuracy <= 1 else f", top-1 {accuracy}%" if accuracy else "")
    )
    return name, loaded


def _checkpoint_path_inputs() -> None:
    st.sidebar.text_input(
        "Path to a model file",
        key="model_path",
        placeholder="runs/my_run/model.safetensors or finetuned.pth",
        help="Our `.safetensors` (with its `.json`), or a state dict in the official B-cos v2 format (`.pth`, read tensors-only)",
    )
    if st.session_state["model_path"].strip().endswith(OFFICIAL_FORMAT_SUFFIXES):
        st.sidebar.selectbox("Architecture of this file", app_architectures(), key="model_arch")


def _checkpoint_name() -> str:
    """The model reference of the path box: the path, or ``<architecture>:<path>`` for an official-format file."""
    path = st.session_state["model_path"].strip()
    return f"{st.session_state['model_arch']}:{path}" if path.endswith(OFFICIAL_FORMAT_SUFFIXES) else path


def _download_with_progress(name: str) -> None:
    """Fetch a registered release file not yet on this server, with a progress bar (loading then reads it)."""
    entry = registry.get_entry(name) if registry.is_registered(name) else None
    if entry is None or entry.location != "download" or entry.weights_path.exists():
        return
    bar = st.progress(0.0, text=f"Downloading {entry.weights}…")

    def show(done: int, total: int | None) -> None:
        fraction = done / total if total else 0.0
        bar.progress(min(fraction, 1.0), text=f"Downloading {entry.weights}: {done / 2**20:.0f} / {(total or 0) / 2**20:.0f} MiB")

    fetch_official(entry, progress=show)
    bar.empty()
