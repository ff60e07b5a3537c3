"""Load test of the real dashboard: N concurrent browser sessions take a scripted tour (JSON on stdout).

    python -m benchmarks.bench_load [--sessions 8] [--rounds 2] [--browser-nice 19] [--compare-checkout DIR]

Starts a fresh dashboard, measures the first request (a deep link to the Δ page), then opens one Chromium with N
contexts (visitors) that all at once: open the class page by deep link, change the explained class three times, open
the Δ page, the neuron explorer (and click a cell of the activation map), a neuron of the gallery and the B family
page. An action counts from the browser event until the page shows its result (the expected title, class or
position, the explanation drawn) and Streamlit is idle. Errors are exception boxes, error messages, dialogs and
timeouts. ``server_page_runs`` gives the server's own time per page run (from its debug log), since the browsers
run on the same cores as the server here, and ``cpu_during_tours`` how the cores' time was shared out between the
server, the browsers, this driver and anything else running. Visitors use the five sample photos in turn, so some
share images (and the shared result cache). ``--browser-nice 19`` runs the browsers at the lowest CPU priority, so
that the server gets the cores whenever it needs them; ``bench_server_load`` leaves the browsers out altogether.
``--compare-checkout DIR`` also serves another checkout (e.g. ``git worktree add DIR <commit>``) and the rounds take
turns between the two dashboards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from app.images import SAMPLE_NAMES
from app.launch import ROOT, running_dashboard

from ._cpu import CpuAccount

CHROMIUM = "/usr/bin/chromium"
PROCESS_GROUPS = {  # where the cores' time goes during the tours: the server, the visitors' browsers, this driver
    "server": lambda command: "app.serve" in command,
    "browsers": lambda command: "chromium" in command,
    "load driver": lambda command: "playwright" in command or "benchmarks.bench_" in command,
}
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
TIMEOUT_MS = 180_000
PICTURE = ".st-key-{key} img, .st-key-{key} .imagelayer image"  # a picture, or a Plotly image (versions before PNG pictures)


class Visitor:
    """One browser context and the times of its actions."""

    def __init__(self, context, url: str, index: int) -> None:
        self.context, self.url, self.index = context, url, index
        self.image = f"sample:{SAMPLE_NAMES[index % len(SAMPLE_NAMES)]}"
        self.times: dict[str, list[float]] = {}
        self.errors: list[str] = []

    async def _done(self, page, action: str, started: float, ready: str) -> bool:
        """Wait for ``ready`` (a JS predicate) and an idle app, record the time, and look for error elements."""
        try:
            await page.wait_for_function(f"() => ({ready})() && ({IDLE})()", timeout=TIMEOUT_MS, polling=50)
        except Exception as error:  # noqa: BLE001  (a timeout is a failed action, reported, not a crash of the benchmark)
            state = await page.evaluate(
                "() => ({title: document.querySelector('h1')?.innerText, "
                "running: !!document.querySelector('[data-testid=\"stStatusWidget\"]'), "
                "charts: document.querySelectorAll('.js-plotly-plot').length, "
                "images: document.querySelectorAll('img, .imagelayer image').length})"
            )
            self.errors.append(f"visitor {self.index} {action}: {type(error).__name__} (page then: {state})")
            return False
        self.times.setdefault(action, []).append(time.perf_counter() - started)
        shown = await page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=stException], [data-testid=stAlertContentError], [role=dialog]')].map(e "
            "=> e.innerText.slice(0, 120))"
        )
        self.errors += [f"visitor {self.index} {action}: {text}" for text in shown]
        return not shown

    async def deep_link(self, page, action: str, path: str, ready: str) -> bool:
        started = time.perf_counter()
        await page.goto(f"{self.url}/{path}", wait_until="commit")
        return await self._done(page, action, started, ready)

    async def _click_cell(self, page, channel: int) -> None:
        """Click a cell of the activation map where the browser drew it; wait for the explanation of that position."""
        chart = f".st-key-act_block2_conv1_{channel} .js-plotly-plot"
        row, col = 2 + self.index % 10, 5
        try:
            await page.wait_for_selector(f"{chart} .main-svg", timeout=TIMEOUT_MS)
        except Exception as error:  # noqa: BLE001  (reported as a failed action)
            self.errors.append(f"visitor {self.index} click neuron cell: activation map not shown ({type(error).__name__})")
            return
        point = await page.evaluate(
            f"""() => {{ const gd = document.querySelector('{chart}'), box = gd.querySelector('.main-svg').getBoundingClientRect();
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            return [box.left + xa._offset + xa.l2p({col}), box.top + ya._offset + ya.l2p({row})]; }}"""
        )
        started = time.perf_counter()
        await page.mouse.click(*point)
        await self._done(
            page,
            "click neuron cell",
            started,
            f"() => window.location.search.includes('row={row}&col={col}') && document.body.innerText.includes('at (row {row}, col "
            f"{col})')",
        )

    async def tour(self) -> None:
        page = await self.context.new_page()
        drawn = lambda key: f"() => !!document.querySelector('{PICTURE.format(key=key)}')"  # noqa: E731
        title = lambda text: f"() => document.querySelector('h1')?.innerText === {json.dumps(text)}"  # noqa: E731
        both = lambda a, b: f"() => ({a})() && ({b})()"  # noqa: E731
        await self.deep_link(page, "open class page", f"?image={self.image}", both(title("Class explanations"), drawn("rgba")))
        for rank in (1, 2, 3):
            await page.locator(".st-key-cls input").click()
            option = page.get_by_role("option").nth(rank)
            name = (await option.inner_text()).split(" (")[0]
            started = time.perf_counter()
            await option.click()
            subheader = f"() => [...document.querySelectorAll('h3')].some(h => h.innerText.includes({json.dumps(f'Why “{name}”?')}))"
            await self._done(page, "change class", started, both(subheader, drawn("rgba")))
        await self.deep_link(page, "deep link: Δ", f"delta?image={self.image}", both(title("Δ-explanations"), drawn("delta_rgba")))
        channel = 3 + self.index
        opened = await self.deep_link(
            page,
            "deep link: neuron",
            f"neurons?image={self.image}&layer=block2.conv1&ch={channel}&row=0&col=0",
            both(title("Neuron explorer"), drawn("neuron_rgba")),
        )
        if opened:
            await self._click_cell(page, channel)
        await self.deep_link(
            page,
            "deep link: gallery neuron",
            f"gallery?image={self.image}&g_layer=block2.conv2&neuron={channel}",
            both(title("Neuron gallery"), "() => document.querySelectorAll('[data-testid=stImage] img').length >= 16"),
        )
        await self.deep_link(page, "deep link: B family", f"b_family?image={self.image}", both(title("B family"), drawn("rgba_b2_5")))
        await page.close()


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50_s": round(statistics.median(ordered), 2), "p95_s": round(p95, 2), "max_s": round(ordered[-1], 2)}


async def _first_request(browser, url: str) -> float:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    visitor = Visitor(context, url, 0)
    page = await context.new_page()
    await visitor.deep_link(
        page,
        "first request",
        "delta?image=sample:coffee",
        f"() => document.querySelector('h1')?.innerText === 'Δ-explanations' && "
        f"!!document.querySelector('{PICTURE.format(key='delta_rgba')}')",
    )
    await context.close()
    if visitor.errors:
        raise RuntimeError(f"first request failed: {visitor.errors}")
    return visitor.times["first request"][0]


def _browser_executable(folder: Path, nice: int) -> str:
    """Chromium itself, or a wrapper that starts it (and so every renderer it forks) at niceness ``nice``."""
    if nice == 0:
        return CHROMIUM
    wrapper = folder / "chromium-niced"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n {nice} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


async def _tours(browser, url: str, sessions: int) -> list[Visitor]:
    """One round: ``sessions`` fresh contexts take the tour at once."""
    contexts = [await browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(sessions)]
    batch = [Visitor(context, url, index) for index, context in enumerate(contexts)]
    await asyncio.gather(*(visitor.tour() for visitor in batch))
    for context in contexts:
        await context.close()
    return batch


def _results(visitors: list[Visitor], cpu: list[dict], first: float, server_log: Path) -> dict:
    actions: dict[str, list[float]] = {}
    for visitor in visitors:
        for action, times in visitor.times.items():
            actions.setdefault(action, []).extend(times)
    return {
        "first_request_deep_link_s": round(first, 2),
        "cpu_during_tours_per_round": cpu,
        "errors": [error for visitor in visitors for error in visitor.errors],
        "actions": {action: _summary(times) for action, times in actions.items()},
        "server_page_runs": {page: _summary(times) for page, times in _page_runs(server_log.read_text()).items()},
    }


async def run(sessions: int, rounds: int, browser_nice: int = 0, checkout: Path | None = None) -> dict:
    """The tour on this checkout's dashboard; with ``checkout`` also on that one's, started beside it, the rounds
    taking turns between the two."""
    from playwright.async_api import async_playwright

    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp())
    roots = {"as configured": ROOT, **({f"checkout {checkout}": checkout} if checkout else {})}
    state: dict[str, tuple[list[Visitor], list[dict]]] = {name: ([], []) for name in roots}
    first = {}
    with contextlib.ExitStack() as stack:
        urls = {
            name: stack.enter_context(running_dashboard(env={"BCOS_LOG_LEVEL": "DEBUG"}, log_path=folder / f"server{i}.log", root=root))
            for i, (name, root) in enumerate(roots.items())
        }
        async with async_playwright() as playwright:
            executable = _browser_executable(folder, browser_nice)
            browser = await playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"])
            for name, url in urls.items():
                first[name] = await _first_request(browser, url)
            started = time.perf_counter()
            for _ in range(rounds):
                for name, url in urls.items():
                    visitors, cpu = state[name]
                    with CpuAccount(PROCESS_GROUPS) as account:
                        visitors += await _tours(browser, url, sessions)
                    cpu.append(account.report())
            wall = time.perf_counter() - started
            await browser.close()
    results = {name: _results(*state[name], first[name], folder / f"server{i}.log") for i, name in enumerate(roots)}
    return {
        "benchmark": "dashboard_load",
        "sessions": sessions,
        "rounds": rounds,
        "cpu_count": os.cpu_count(),
        "browser_niceness": browser_nice,
        "load_average_1min_before": round(load_before, 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "wall_s": round(wall, 1),
        **(results if checkout else results["as configured"]),
    }


def _page_runs(log_text: str) -> dict[str, list[float]]:
    """Server time of every page run (the dashboard's debug log), per page title: what the server itself spent,
    without the browsers' rendering, which shares the same cores here."""
    runs: dict[str, list[float]] = {}
    for title, seconds in re.findall(r"page (.+) ran in ([0-9.]+) s", log_text):
        runs.setdefault(title, []).append(float(seconds))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="tours per visitor slot (a fresh set of contexts each round)")
    parser.add_argument(
        "--browser-nice", type=int, default=0, choices=range(20), metavar="0..19", help="niceness of the browsers (19: lowest priority)"
    )
    parser.add_argument("--compare-checkout", type=Path, help="also serve this checkout (another commit), rounds taking turns")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found (apt-get install -y chromium)")
    print(json.dumps(asyncio.run(run(args.sessions, args.rounds, args.browser_nice, args.compare_checkout)), indent=2))


if __name__ == "__main__":
    main()
