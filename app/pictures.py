"""Pictures (photos, explanations, tiles) shown as lossless PNG images rather than Plotly charts.

A Plotly image costs the server its figure construction and validation on every page run, and ``st.image`` of a NumPy
array re-encodes it as JPEG on every run (lossy: an explanation's colours would not be the computed ones). Here every
picture is encoded once as PNG (cached by content, bounded) and handed to Streamlit as bytes it passes through
unchanged; the browser enlarges it with square pixels (``PIXELATED_CSS``), so a 32 px explanation stays sharp.
"""

from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image

from .memo import cached_by_content

PIXELATED_CSS = "<style>[data-testid='stImage'] img { image-rendering: pixelated; }</style>"


@cached_by_content(2048)  # a CIFAR-size picture is a few kB, a 224 px explanation ~100 kB
def png_bytes(pixels: np.ndarray) -> bytes:
    """(H, W, 3) uint8 pixels as PNG, encoded once per distinct picture (least recently used evicted first)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(buffer, format="PNG", compress_level=1)  # fast; small pictures
    return buffer.getvalue()


def show_picture(pixels: np.ndarray, caption: str | None = None, key: str | None = None) -> None:
    """Draw ``pixels`` at the column's width, losslessly; ``key`` names its container (CSS class ``st-key-<key>``) so
    tests and styles can find it."""
    with st.container(key=key) if key else st.container():
        st.image(png_bytes(pixels), caption=caption, width="stretch", output_format="PNG")
