"""What a visitor sees when a page fails: a short message, while the traceback goes to the server log only."""

from __future__ import annotations

import logging

import streamlit as st

log = logging.getLogger("bcos_explorer")


def run_page(page: st.navigation) -> None:
    """Run the navigation's page; an unexpected exception becomes a short message and a log entry, and the
    server keeps serving (``st.stop``/``st.rerun`` are BaseExceptions and pass through)."""
    try:
        page.run()
    except Exception as error:  # noqa: BLE001  (the one place where every page failure is caught and logged)
        log.exception("page %r failed", getattr(page, "title", page))
        st.error(
            f"Something went wrong on this page ({type(error).__name__}). The details were written to the server's log. "
            "Try another image or setting, or reload the page."
        )
