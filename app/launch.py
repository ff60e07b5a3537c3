"""Start the dashboard in a child process and wait until it answers (browser tests, the load benchmark)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_dashboard(
    env: dict[str, str] | None = None,
    timeout_s: float = 120,
    log_path: Path | None = None,
    options: dict[str, str] | None = None,
    root: Path = ROOT,
) -> Iterator[str]:
    """A fresh dashboard (``python -m app.serve``, as users start it) on a free local port; yields its URL once
    ``/_stcore/health`` answers, stops it on exit. ``options`` are Streamlit settings (``{"runner.postScriptGC": "false"}``)
    that override ``.streamlit/config.toml``; ``root`` is the checkout to serve (another one: to compare versions)."""
    port = free_port()
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.serve",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            *(argument for name, value in (options or {}).items() for argument in (f"--{name}", value)),
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout_s
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"the dashboard did not become healthy (exit code {process.poll()})") from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        if log_path:
            log.close()
