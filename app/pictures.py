"""Pictures (photos, explanations, tiles) shown as lossless PNG images rather than Plotly charts.

A Plotly image costs the server its figure construction and validation on every page run, and ``st.image`` of a NumPy
array re-encodes it as JPEG on every run (lossy: an explanation's colours would not be the computed ones). Here every
picture is encoded once as PNG (cached by content, bounded) and handed to Streamlit as bytes it passes through
unchanged; the browser enlarges it with square pixels (``PIXELATED_CSS``), so a 32 px explanation stays sharp.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st
from PIL import Image

PIXELATED_CSS = "<style>[data-testid='stImage'] img { image-rendering: pixelated; }</style>"
_CACHE_SIZE = 2048  # pictures; a CIFAR-size one is a few kB, a 224 px explanation ~100 kB
_cache: OrderedDict[bytes, bytes] = OrderedDict()
_lock = threading.Lock()  # visitors' script threads share the cache


def png_bytes(pixels: np.ndarray) -> bytes:
    """(H, W, 3) uint8 pixels as PNG, encoded once per distinct picture (least recently used evicted first)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    digest = hashlib.blake2b(repr(pixels.shape).encode(), digest_size=16)
    digest.update(pixels.data)
    key = digest.digest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)  # fast; these pictures are small
    data = buffer.getvalue()
    with _lock:
        _cache[key] = data
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return data


def show_picture(pixels: np.ndarray, caption: str | None = None, key: str | None = None) -> None:
    """Draw ``pixels`` at the column's width, losslessly; ``key`` names its container (CSS class ``st-key-<key>``) so
    tests and styles can find it."""
    with st.container(key=key) if key else st.container():
        st.image(png_bytes(pixels), caption=caption, width="stretch", output_format="PNG")
