"""Opening the dashboard under Streamlit's AppTest, shared by the page tests."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ENTRY = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def open_page(page: str | None = None, timeout: float = 180, **params: str) -> AppTest:
    """Run the app with ``params`` in the URL, then switch to ``page`` (None: the default page); no exception allowed."""
    at = AppTest.from_file(ENTRY, default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at
