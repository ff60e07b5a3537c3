"""Parking a run's state in the repository: a run restored on a fresh machine resumes bit for bit."""

from __future__ import annotations

import shutil

import torch
from safetensors.torch import load_file

from tests.training.conftest import tiny_overrides
from training import park, train


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


def test_missing_or_foreign_states_are_reported(tmp_path, capsys) -> None:
    assert park.main([str(tmp_path / "no_run"), "--parking", str(tmp_path / "parked")]) == 2
    assert "no training state" in capsys.readouterr().err
    assert park.main([str(tmp_path / "no_run"), "--restore", "--parking", str(tmp_path / "parked")]) == 2
    assert "nothing parked" in capsys.readouterr().err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / park.STATE_FILE).write_bytes(b"not a safetensors file")
    assert park.main([str(tmp_path / "run"), "--parking", str(tmp_path / "parked")]) == 2
    assert "not a training state" in capsys.readouterr().err
