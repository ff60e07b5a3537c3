"""The server launcher's warm-up: what it leaves loaded before the first visitor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_warm_up_imports_what_sessions_would_otherwise_import_concurrently() -> None:
    """pandas, half-imported by one session while Plotly looked it up for another, failed the gallery under load."""
    script = "import sys; from app.serve import warm_up; warm_up(); print('pandas' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"


def test_the_shipped_streamlit_settings_are_the_hosting_ones() -> None:
    """What README "Hosting" promises: no tracebacks or Deploy button for visitors, no full garbage collection after
    every page run (the server's largest cost per run under load)."""
    names = ("client.showErrorDetails", "client.toolbarMode", "runner.postScriptGC", "server.maxUploadSize")
    read = "from streamlit import config; config.get_config_options(force_reparse=True)"
    script = f"{read}; print([config.get_option(n) for n in {names!r}])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "['none', 'viewer', False, 10]"
