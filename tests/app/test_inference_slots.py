"""The dashboard's inference slots: many visitors at once never run more model computations than there are slots."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from app import compute


def test_at_most_the_slot_count_computes_at_once_and_nesting_does_not_deadlock() -> None:
    running, peak, lock = 0, 0, threading.Lock()

    @compute.uses_model
    def inner() -> int:
        return 1

    @compute.uses_model
    def work(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return i + inner()  # a computation that calls another one keeps its slot

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(16)))
    assert results == [i + 1 for i in range(16)]
    assert peak == compute.INFERENCE_SLOTS
