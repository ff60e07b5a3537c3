"""Parking a run's state in the repository: a run restored on a fresh machine resumes bit for bit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.conftest import tiny_overrides
from training import park, train

ROOT = Path(__file__).resolve().parents[2]


def test_a_parked_run_restored_elsewhere_resumes_exactly(tiny_data, tmp_path, capsys) -> None:
    full, run, parking = tmp_path / "full", tmp_path / "run", tmp_path / "parked"
    assert train.main(tiny_overrides(tiny_data, full)) == 0
    assert train.main(tiny_overrides(tiny_data, run) + ["--run.max_epochs_this_run=1"]) == 0
    assert park.main([str(run), "--parking", str(parking)]) == 0
    assert "(1 epochs done)" in capsys.readouterr().out
    shutil.rmtree(run)  # the machine is gone; only the parked state is left
    assert park.main([str(run), "--restore", "--parking", str(parking)]) == 0
    assert train.main(tiny_overrides(tiny_data, run) + ["--resume"]) == 0
    ours, reference = load_file(str(run / "model.safetensors")), load_file(str(full / "model.safetensors"))
    assert ours.keys() == reference.keys()
    for key in ours:
        torch.testing.assert_close(ours[key], reference[key], rtol=0, atol=0, msg=key)


def test_restoring_never_replaces_a_state_further_along(tiny_data, tmp_path, capsys) -> None:
    run, parking = tmp_path / "run", tmp_path / "parked"
    assert train.main(tiny_overrides(tiny_data, run) + ["--run.max_epochs_this_run=1"]) == 0
    park.park(run, parking)
    assert train.main(tiny_overrides(tiny_data, run) + ["--resume"]) == 0  # the run goes on past the parked state
    ahead = (run / park.STATE_FILE).read_bytes()
    assert park.main([str(run), "--restore", "--parking", str(parking)]) == 2
    assert "further along" in capsys.readouterr().err
    assert (run / park.STATE_FILE).read_bytes() == ahead


def test_parts_stay_below_the_limit_and_damage_is_refused(tiny_data, tmp_path, capsys) -> None:
    """A run is parked in parts (a Space takes no file over 10 MB without Git-LFS) that join back to the same bytes,
    its exported model and log included; a damaged part is refused and nothing is written."""
    run, parking, elsewhere = tmp_path / "run", tmp_path / "parked", tmp_path / "elsewhere" / "run"
    assert train.main(tiny_overrides(tiny_data, run) + ["--run.max_epochs_this_run=1"]) == 0
    state = (run / park.STATE_FILE).read_bytes()
    park.park(run, parking, part_bytes=len(state) // 3 + 1)
    parts = sorted(parking.glob(f"run.{park.STATE_FILE}.part*"))
    assert len(parts) == 3 and max(part.stat().st_size for part in [*parking.glob("run.*.part*")]) <= len(state) // 3 + 1
    assert park.PART_BYTES < 10 * 1024 * 1024
    park.restore(elsewhere, parking)
    for name in park.RUN_FILES:
        assert (elsewhere / name).read_bytes() == (run / name).read_bytes(), name
    for name in park.RUN_FILES:
        (elsewhere / name).unlink()
    damaged = bytearray(parts[1].read_bytes())
    damaged[100] ^= 0xFF
    parts[1].write_bytes(bytes(damaged))
    assert park.main([str(elsewhere), "--restore", "--parking", str(parking)]) == 2
    assert "SHA-256 differs" in capsys.readouterr().err and not any(elsewhere.glob("*"))
    park.park(run, parking)  # parked again, each file in one part: the stale parts are gone
    assert sorted(p.name for p in parking.glob(f"run.{park.STATE_FILE}.part*")) == [f"run.{park.STATE_FILE}.part00"]


def test_missing_or_foreign_states_are_reported(tmp_path, capsys) -> None:
    assert park.main([str(tmp_path / "no_run"), "--parking", str(tmp_path / "parked")]) == 2
    assert "no training state" in capsys.readouterr().err
    assert park.main([str(tmp_path / "no_run"), "--restore", "--parking", str(tmp_path / "parked")]) == 2
    assert "nothing parked" in capsys.readouterr().err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / park.STATE_FILE).write_bytes(b"not a safetensors file")
    assert park.main([str(tmp_path / "run"), "--parking", str(tmp_path / "parked")]) == 2
    assert "not a training state" in capsys.readouterr().err


def test_the_family_scripts_park_an_interrupted_run_and_continue_it_elsewhere(tiny_data, tmp_path) -> None:
    """scripts/_runs.sh's train_parked, as the family script calls it: an interrupted run (SIGINT to the training
    process, as the scripts' headers say) is parked in parked/; on a machine without the run, the same call restores
    it and finishes with the weights of a run never stopped."""
    reference = tmp_path / "reference"
    assert train.main(tiny_overrides(tiny_data, reference, epochs=4)) == 0
    work = tmp_path / "checkout"  # the script's working directory: parked/ lands here
    work.mkdir()
    (work / "tiny.toml").write_text("")
    run = work / "runs" / "tiny_run"
    script = 'set -euo pipefail; python="$PYTHON"; source "$ROOT/scripts/_runs.sh"; train_parked runs/tiny_run tiny.toml "${@}"'
    env = {**os.environ, "PYTHON": sys.executable, "ROOT": str(ROOT), "PYTHONPATH": str(ROOT)}
    overrides = [arg for arg in tiny_overrides(tiny_data, run, epochs=4) if not arg.startswith("--run.out_dir")]

    def call() -> subprocess.Popen:
        command = ["bash", "-c", script, "train_parked", *overrides]
        return subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = call()
    deadline = time.time() + 120
    while not (run / "metrics.jsonl").exists():
        assert first.poll() is None and time.time() < deadline, first.communicate()[1][-2000:]
        time.sleep(0.2)
    subprocess.run(["pkill", "-INT", "-f", "run.out_dir=runs/tiny_run"], check=True)  # the training process only
    _, stderr = first.communicate(timeout=120)
    if first.returncode == 0:
        pytest.skip("training finished before the signal arrived")
    assert first.returncode == 130 and "commit parked/tiny_run.*" in stderr
    shutil.rmtree(work / "runs")  # a new machine: only the checkout, with parked/, is left
    second = call()
    _, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr[-2000:]
    assert "resumed from" in stderr
    ours, expected = load_file(str(run / "model.safetensors")), load_file(str(reference / "model.safetensors"))
    for key in expected:
        torch.testing.assert_close(ours[key], expected[key], rtol=0, atol=0, msg=key)
