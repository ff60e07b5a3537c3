"""Page state that lives in the URL (deep links) and teacher mode.

Each setting has a name used both as the query parameter and as the widget key. On a fresh session the
widget starts from the URL; after every run the page writes its settings back, so the address bar always
reproduces the view. ``?teacher=1&hide=model,image`` hides the named controls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

T = TypeVar("T")


def url_value(name: str, default: T, cast: Callable[[str], T] | None = None) -> T:
    """The setting from the URL, cast like ``default``; the default when missing or malformed."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    cast = cast or type(default)
    try:
        return cast(raw)
    except (TypeError, ValueError):
        return default


def init_widget(name: str, default: T, cast: Callable[[str], T] | None = None, choices: list | None = None) -> None:
    """Seed ``st.session_state[name]`` from the URL once per session (widgets then own it)."""
    if name not in st.session_state:
        value = url_value(name, default, cast)
        st.session_state[name] = value if choices is None or value in choices else default
    else:
        # re-assigning turns a widget's value into a user value, so a widget with the same key on another
        # page starts from it instead of from its default (Streamlit drops state of widgets left behind)
        st.session_state[name] = st.session_state[name]


def write_url(**values: object) -> None:
    """Mirror the given settings into the query parameters (only when they changed, to avoid reruns)."""
    for name, value in values.items():
        text = str(value)
        if st.query_params.get(name) != text:
            st.query_params[name] = text


def teacher_mode() -> bool:
    return st.query_params.get("teacher") in ("1", "true", "yes")


def is_hidden(control: str) -> bool:
    """True when teacher mode hides ``control`` (``?teacher=1&hide=a,b``)."""
    return teacher_mode() and control in st.query_params.get("hide", "").split(",")

