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
