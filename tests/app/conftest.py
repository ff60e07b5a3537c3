"""Fixtures of the real-browser tests: one dashboard and one Chromium page per test module."""

from __future__ import annotations

import pytest

from app.launch import running_dashboard

from .browser import CHROMIUM, CHROMIUM_ARGS, require_browser


@pytest.fixture(scope="module")
def server():
    require_browser()
    with running_dashboard() as url:
        yield url


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1400, "height": 1000})
        browser.close()
