"""Load test of the real dashboard without browsers: N concurrent visitors speak Streamlit's own protocol (JSON).

    python -m benchmarks.bench_server_load [--sessions 8] [--rounds 2] [--compare runner.postScriptGC=true]
    git worktree add /tmp/before <commit> && python -m benchmarks.bench_server_load --compare-checkout /tmp/before

``bench_load`` drives real Chromium, but on this machine the browsers run on the server's cores and take most of
them (its ``cpu_during_tours``). This benchmark measures what the server alone delivers to N visitors whose browsers
run on their own computers: every visitor opens the same pages by deep link as ``bench_load``'s tour, each as a new
session over the websocket the browser uses (``/_stcore/stream``, the ``rerun_script`` message a browser sends for a
URL), and then downloads every media file (images) the page references, as a browser would. An action counts from
the request until the server has sent the finished page and its images. A class change is a deep link with the new
class (a whole page run in a fresh session: at least as much server work as the browser's rerun). Errors are
exception elements, error alerts, "page not found" and timeouts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from app.images import SAMPLE_NAMES
from app.launch import ROOT, running_dashboard

from ._cpu import CpuAccount, process_memory_mib, processes_matching
from .bench_load import PROCESS_GROUPS, _page_runs, _summary

TIMEOUT_S = 180
MEDIA_URL = re.compile(rb"/media/[0-9a-f]+\.[a-z]+")


class PageVisit:
    """One page request over a fresh websocket session: what came back and how long it took."""

    def __init__(self) -> None:
        self.media: set[str] = set()
        self.headings: list[str] = []
        self.errors: list[str] = []

    def read(self, message: ForwardMsg, raw: bytes) -> bool:
        """Take one server message; True when the script run has finished."""
        self.media.update(url.decode() for url in MEDIA_URL.findall(raw))
        kind = message.WhichOneof("type")
        if kind == "page_not_found":
            self.errors.append(f"page not found: {message.page_not_found.page_name!r}")
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            if element.WhichOneof("type") == "heading":
                self.headings.append(element.heading.body)
            elif element.WhichOneof("type") == "exception":
                self.errors.append(f"exception: {element.exception.message[:120]}")
            elif element.WhichOneof("type") == "alert" and element.alert.format == Alert.ERROR:
                self.errors.append(f"error: {element.alert.body[:120]}")
        return kind == "script_finished"


async def visit(base: str, page: str, query: str) -> PageVisit:
    """Request ``/{page}?{query}`` as a browser's first message on a new session does, then fetch its media files."""
    result = PageVisit()
    request = BackMsg()
    request.rerun_script.query_string = query
    request.rerun_script.page_name = page
    request.rerun_script.context_info.url = f"{base}/{page}"
    request.rerun_script.context_info.timezone = "UTC"
    ws_url = base.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=TIMEOUT_S) as socket:
        await socket.send(request.SerializeToString())
        while True:
            raw = await socket.recv()
            message = ForwardMsg()
            message.ParseFromString(raw)
            if result.read(message, raw):
                break
    for url in sorted(result.media):
        await asyncio.to_thread(lambda u=url: urllib.request.urlopen(base + u, timeout=TIMEOUT_S).read())
    return result


def tour(index: int) -> list[tuple[str, str, str, str]]:
    """(action, page, query string, the page's expected title) of ``bench_load``'s tour for visitor ``index``, every
    step a deep link."""
    image = f"image=sample:{SAMPLE_NAMES[index % len(SAMPLE_NAMES)]}"
    channel, row = 3 + index, 2 + index % 10
    classes = "Class explanations"
    steps = [("open class page", "", image, classes)]
    steps += [("change class", "", f"{image}&cls={(index + k) % 10}", classes) for k in (1, 2, 3)]
    steps += [
        ("deep link: Δ", "delta", image, "Δ-explanations"),
        ("deep link: neuron", "neurons", f"{image}&layer=block2.conv1&ch={channel}&row=0&col=0", "Neuron explorer"),
        ("click neuron cell", "neurons", f"{image}&layer=block2.conv1&ch={channel}&row={row}&col=5", "Neuron explorer"),
        ("deep link: gallery neuron", "gallery", f"{image}&g_layer=block2.conv2&neuron={channel}", "Neuron gallery"),
        ("deep link: B family", "b_family", image, "B family"),
    ]
    return steps


async def _visitor(base: str, index: int, times: dict[str, list[float]], errors: list[str]) -> None:
    for action, page, query, title in tour(index):
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(visit(base, page, query), TIMEOUT_S)
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            errors.append(f"visitor {index} {action}: {type(error).__name__} {error}")
            continue
        times.setdefault(action, []).append(time.perf_counter() - started)
        if title not in result.headings:
            result.errors.append(f"the page's title is not {title!r} (headings: {result.headings[:3]})")
        errors += [f"visitor {index} {action}: {text}" for text in result.errors]


def server_memory_mib(base: str) -> dict[str, float]:
    """Resident and peak resident memory of the dashboard serving ``base`` (found by its port in ``/proc``)."""
    port = base.rsplit(":", 1)[1]
    servers = processes_matching(lambda command: "app.serve" in command and port in command.split())
    return process_memory_mib(servers[0]) if servers else {}


async def _measure(base: str, sessions: int, times: dict[str, list[float]], errors: list[str]) -> dict:
    """One round: every visitor's tour at once; how the cores' time was shared out meanwhile."""
    with CpuAccount(PROCESS_GROUPS) as cpu:
        await asyncio.gather(*(_visitor(base, index, times, errors) for index in range(sessions)))
    return cpu.report()


def _results(
    times: dict[str, list[float]], errors: list[str], cpu: list[dict], server_log: Path, first_s: float, memory: dict[str, float]
) -> dict:
    return {
        "first_request_deep_link_s": round(first_s, 2),
        "server_memory_after": memory,
        "cpu_during_tours_per_round": cpu,
        "errors": errors,
        "actions": {action: _summary(values) for action, values in times.items()},
        "server_page_runs": {page: _summary(values) for page, values in _page_runs(server_log.read_text()).items()},
    }


async def run(sessions: int, rounds: int, compare: dict[str, str] | None = None, checkout: Path | None = None) -> dict:
    """The tour on the dashboard as configured; with ``compare`` (Streamlit settings) or ``checkout`` (another version of
    the code) also on a second dashboard so changed, started beside the first, the rounds taking turns between the two."""
    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp())
    variants = {"as configured": ({}, ROOT)}
    if compare or checkout:
        name = " ".join([*(f"{k}={v}" for k, v in (compare or {}).items()), *([f"checkout {checkout}"] if checkout else [])])
        variants[name] = (compare or {}, checkout or ROOT)
    results = {}
    with contextlib.ExitStack() as stack:
        bases = {
            name: stack.enter_context(
                running_dashboard(env={"BCOS_LOG_LEVEL": "DEBUG"}, log_path=folder / f"server{i}.log", options=options, root=root)
            )
            for i, (name, (options, root)) in enumerate(variants.items())
        }
        state = {name: ({}, [], []) for name in variants}  # times, errors, CPU reports
        first = {}
        for name, base in bases.items():
            started = time.perf_counter()
            visited = await visit(base, "delta", "image=sample:coffee")
            first[name] = time.perf_counter() - started
            state[name][1].extend(f"first request: {text}" for text in visited.errors)
        started = time.perf_counter()
        for _ in range(rounds):
            for name, base in bases.items():
                times, errors, cpu = state[name]
                cpu.append(await _measure(base, sessions, times, errors))
        wall = time.perf_counter() - started
        memory = {name: server_memory_mib(base) for name, base in bases.items()}
    for i, name in enumerate(variants):
        results[name] = _results(*state[name], folder / f"server{i}.log", first[name], memory[name])
    return {
        "benchmark": "dashboard_server_load",
        "sessions": sessions,
        "rounds": rounds,
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": round(load_before, 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "wall_s": round(wall, 1),
        **(results if len(variants) > 1 else results["as configured"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="tours per visitor")
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="also run a second dashboard with these Streamlit settings (e.g. runner.postScriptGC=true), rounds taking turns",
    )
    parser.add_argument("--compare-checkout", type=Path, help="also serve this checkout (another commit), rounds taking turns")
    args = parser.parse_args()
    compare = dict(option.split("=", 1) for option in args.compare)
    print(json.dumps(asyncio.run(run(args.sessions, args.rounds, compare, args.compare_checkout)), indent=2))


if __name__ == "__main__":
    main()
