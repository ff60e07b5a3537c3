"""Page state that lives in the URL (deep links) and teacher mode.

Each setting has a name used both as the query parameter and as the widget key. On a fresh session the
widget starts from the URL; after every run the page writes its settings back, so the address bar always
reproduces the view. Streamlit clears the query parameters when the visitor moves to another page in the
sidebar, so the session also remembers what it last wrote, and a setting missing from the URL falls back to it
(the image, teacher mode). ``?teacher=1&hide=model,image`` hides the named controls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

T = TypeVar("T")


_WRITTEN = "_url_written"  # session key: the settings this session last wrote into the URL
TEACHER_SETTINGS = ("teacher", "hide")


def url_value(name: str, default: T, cast: Callable[[str], T] | None = None) -> T:
    """The setting from the URL (or what this session last wrote there), cast like ``default``; the default when
    missing or malformed."""
    raw = st.query_params.get(name, st.session_state.get(_WRITTEN, {}).get(name))
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
    written = st.session_state.setdefault(_WRITTEN, {})
    for name, value in values.items():
        text = str(value)
        written[name] = text
        if st.query_params.get(name) != text:
            st.query_params[name] = text


def keep_teacher_mode() -> None:
    """Carry teacher mode over a move to another page (the URL loses it there); the main script calls this."""
    kept = {name: url_value(name, "") for name in TEACHER_SETTINGS}
    if kept["teacher"]:
        write_url(**{name: value for name, value in kept.items() if value})


def reset_on_change(context: tuple, *names: str) -> None:
    """Forget the settings ``names`` (widget state and URL) when ``context`` (e.g. model and image) differs from the
    previous run's, so they start from their defaults for the new context instead of carrying the old values."""
    key = "_context:" + ",".join(names)
    previous = st.session_state.get(key)
    if previous is not None and previous != context:
        written = st.session_state.get(_WRITTEN, {})
        for name in names:
            st.session_state.pop(name, None)
            written.pop(name, None)
            if name in st.query_params:
                del st.query_params[name]
    st.session_state[key] = context


def set_for_context(context: tuple, **values: object) -> None:
    """Set widget values together with the context they belong to (so :func:`reset_on_change` keeps them)."""
    st.session_state.update(values)
    st.session_state["_context:" + ",".join(values)] = context
    write_url(**values)


def teacher_mode() -> bool:
    return url_value("teacher", "") in ("1", "true", "yes")


def is_hidden(control: str) -> bool:
    """True when teacher mode hides ``control`` (``?teacher=1&hide=a,b``)."""
    return teacher_mode() and control in url_value("hide", "").split(",")
