"""What a visitor sees when a page fails: a short message, while the traceback goes to the server log only; and each
page run's server time, in the log."""

from __future__ import annotations

import logging
import time

import streamlit as st

log = logging.getLogger("bcos_explorer")


def run_page(page: st.navigation) -> None:
    """Run the navigation's page; an unexpected exception becomes a short message and a log entry, and the
    server keeps serving (``st.stop``/``st.rerun`` are BaseExceptions and pass through). Each run's server time is
    logged at debug level ("page <title> ran in <s> s"; the load benchmark reads it)."""
    started = time.perf_counter()
    try:
        page.run()
    except Exception as error:  # noqa: BLE001  (the one place where every page failure is caught and logged)
        log.exception("page %r failed", getattr(page, "title", page))
        st.error(
            f"Something went wrong on this page ({type(error).__name__}). The details were written to the server's log. "
            "Try another image or setting, or reload the page."
        )
    finally:
        log.debug("page %s ran in %.3f s", getattr(page, "title", page), time.perf_counter() - started)
