"""The load benchmark's CPU accounting: a process's CPU time lands in its group, and idle processes add nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from benchmarks._cpu import CpuAccount, process_memory_mib, processes_matching

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux /proc")

BUSY = "import time\nend = time.process_time() + 0.8\nwhile time.process_time() < end: pass  # busy-marker"
IDLE = "import time; time.sleep(1.2)  # idle-marker"


def test_a_busy_child_counts_in_its_group_and_a_sleeping_one_does_not() -> None:
    groups = {"busy": lambda command: "busy-marker" in command, "idle": lambda command: "idle-marker" in command}
    with CpuAccount(groups, interval_s=0.05) as cpu:
        idle = subprocess.Popen([sys.executable, "-c", IDLE])
        time.sleep(0.2)  # sampled alive, so its (near-zero) time is known before it exits
        busy = subprocess.Popen([sys.executable, "-c", BUSY])
        busy.wait()
        idle.wait()
    report = cpu.report()
    assert 0.5 <= report["cpu_s"]["busy"] <= 1.3  # 0.8 s of CPU, less what one sampling interval before exit misses
    assert report["cpu_s"]["idle"] < 0.3  # interpreter start-up only
    assert report["machine_busy_cpu_s"] >= report["cpu_s"]["busy"] - 0.1
    assert 0 < report["share_of_cores"]["busy"] <= 1


def test_a_process_is_found_by_its_command_line_and_its_memory_read() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(5)  # memory-marker"], stdout=subprocess.PIPE, text=True
    )
    try:
        # once the interpreter is running (not merely exec'd, when its memory is still a fraction of a MiB)
        assert child.stdout.readline().strip() == "ready"
        assert processes_matching(lambda command: "memory-marker" in command) == [child.pid]
        memory = process_memory_mib(child.pid)
        assert 1 < memory["rss_mib"] <= memory["peak_rss_mib"] < 1024  # a sleeping interpreter: some MiB, far below 1 GiB
        assert process_memory_mib(os.getpid())["rss_mib"] > 1
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert process_memory_mib(child.pid) == {}
