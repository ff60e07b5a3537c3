"""Helpers of the real-browser tests (Debian chromium + playwright); the fixtures are in ``conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

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
