"""Client-side redraw time of the toy's B slider in a real browser (JSON; needs /usr/bin/chromium and playwright).

    python -m benchmarks.bench_toy_client

Serves the dashboard, opens the toy page in headless Chromium and times ``Plotly.animate`` to each precomputed B
frame (what the slider under the plot does), without any server round trip.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ._timing import machine, print_report

ROOT = Path(__file__).resolve().parents[1]
PORT = 8598
MEASURE = """async () => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._transitionData && g._transitionData._frames.length > 5);
  const names = gd._transitionData._frames.map(f => f.name);
  const times = [];
  for (const name of names.concat(names)) {
    const start = performance.now();
    await Plotly.animate(gd, [name], {mode: 'immediate', frame: {duration: 0, redraw: true}, transition: {duration: 0}});
    times.push(performance.now() - start);
  }
  return times;
}"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    before = machine()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(PORT), "--server.headless", "true"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{PORT}/toy", wait_until="domcontentloaded")
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=120_000)
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
            page.wait_for_function("() => window.Plotly !== undefined", timeout=30_000)
            times = page.evaluate(MEASURE)
            browser.close()
    finally:
        server.terminate()
    figures = {"frames_drawn": len(times), "median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
    print_report("toy_slider_client_redraw", figures, before)


if __name__ == "__main__":
    main()
