"""Serve the dashboard with the expensive start-up done before the first visitor arrives.

    python -m app.serve [streamlit options, e.g. --server.port 8501]

Imports torch and the pages' modules, gives each inference slot its share of the cores, loads the default model
into the shared model cache, runs one explanation (first calls of torch kernels are slow) and the scan of the test
set that the Δ page and the sidebar's "Wrong"/"Unsure" buttons use, then hands over to
``streamlit run streamlit_app.py`` in this same process, so the caches it filled are the server's.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bcos_explorer")
LOG_LEVEL_ENV_VAR = "BCOS_LOG_LEVEL"  # DEBUG also logs every page run's server time


def warm_up() -> float:
    """Load and exercise the default model; returns the seconds it took."""
    started = time.perf_counter()
    quiet = logging.getLogger("streamlit.runtime.caching.cache_data_api")  # "no runtime yet" is expected here
    level, quiet.level = quiet.level, logging.ERROR
    from PIL import Image

    import bcos_core
    from app import compute, evaluation, figures, gallery  # noqa: F401  (imported for their start-up cost)
    from app.images import SAMPLE_NAMES, sample_image
    from bcos_core.preprocessing import encode_crop

    compute.configure_inference()
    loaded = compute.get_model(bcos_core.DEFAULT_MODEL)
    crop = loaded.preprocess.to_array(Image.fromarray(sample_image(SAMPLE_NAMES[0])))
    bcos_core.explain_classes(loaded.model, encode_crop(crop), [0, 1])
    # Streamlit imports pandas on a session's first table; Plotly, serialising another session's figure meanwhile,
    # found the half-imported module ("partially initialized module 'pandas' has no attribute 'Series'", seen by the
    # load benchmark), so pandas is imported here, before any session
    import pandas  # noqa: F401

    try:  # the Δ page's and the sidebar's scan of the test set (about 10 s), shared by every visitor
        compute.dataset_predictions(bcos_core.DEFAULT_MODEL)
    except FileNotFoundError:
        log.info("no data set configured: the test-set scan is skipped")
    quiet.setLevel(level)
    return time.perf_counter() - started


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.setLevel(os.environ.get(LOG_LEVEL_ENV_VAR, "INFO").upper())
    log.info("warmed up in %.1f s", warm_up())
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "streamlit_app.py"), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
