"""Helpers of the real-browser tests (Debian chromium + playwright); the fixtures are in ``conftest.py``."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")


def settle(page) -> None:
    """Wait until the page has a title and Streamlit has nothing left running."""
    page.wait_for_selector("[data-testid='stApp'] h1", timeout=90_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    page.wait_for_timeout(500)


def assert_no_errors(page, name: str) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, f"{name}: exception shown"
    assert page.locator("[role='dialog']").count() == 0, (
        f"{name}: a dialog is open ({page.locator('[role=dialog]').first.inner_text()[:80]})"
    )
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, f"{name}: error shown: {errors.first.inner_text() if errors.count() else ''}"


def drawn_pixels(page, key: str, shape: tuple[int, int], name: str) -> np.ndarray:
    """The colours the browser shows for picture ``key``, read from a screenshot at the centre of every image pixel."""
    element = page.locator(f".st-key-{key} [data-testid=stImage] img").first
    element.scroll_into_view_if_needed()
    shot = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB"))
    ARTIFACTS.mkdir(exist_ok=True)
    Image.fromarray(shot).save(ARTIFACTS / f"pixels_{name}_{key}.png")
    rows = ((np.arange(shape[0]) + 0.5) * shot.shape[0] / shape[0]).astype(int)
    cols = ((np.arange(shape[1]) + 0.5) * shot.shape[1] / shape[1]).astype(int)
    return shot[rows][:, cols]


def assert_same_picture(drawn: np.ndarray, expected: np.ndarray, what: str, shift: int = 0) -> None:
    """Same colours at every pixel; ``shift`` > 0 allows each drawn pixel to match an expected one up to that many pixels
    away (a display scale that is not a whole number rounds some pixel edges either way)."""
    assert drawn.shape == expected.shape, what
    padded = np.pad(expected.astype(int), ((shift, shift), (shift, shift), (0, 0)), mode="edge")
    h, w = drawn.shape[:2]
    difference = (
        np.min(
            [
                np.abs(drawn.astype(int) - padded[dy : dy + h, dx : dx + w]).max(2, keepdims=True).repeat(3, 2)
                for dy in range(2 * shift + 1)
                for dx in range(2 * shift + 1)
            ],
            axis=0,
        )
        if shift
        else np.abs(drawn.astype(int) - expected.astype(int))
    )
    # colour management and edge resampling may move a value by a few levels; an opaque or blurred drawing moves many
    assert difference.mean() < 2.0 and np.percentile(difference, 99) <= 12, (
        f"{what}: mean |Δ| {difference.mean():.2f}, 99th pct {np.percentile(difference, 99)}"
    )
