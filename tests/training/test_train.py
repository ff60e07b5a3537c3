"""Training: config, determinism, exact resume after Ctrl-C and after kill -9, evaluation CLI, DDP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bcos_core.metrics import explanation_alignment
from bcos_core.models import build_model
from bcos_core.zoo import load_model
from tests.training.conftest import tiny_overrides
from training import evaluate, train
from training.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def _weights(out_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out_dir / "model.safetensors"))


def _assert_same_weights(a: Path, b: Path, atol: float = 0.0) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=0, atol=atol, msg=key)


def test_config_overrides_and_unknown_keys(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[optim]\nlr = 0.01\n[model]\nkwargs = {norm = "pn"}\n')
    cfg = load_config(path, ["--optim.epochs=7", "--run.bf16=true"])
    assert (cfg.optim.lr, cfg.optim.epochs, cfg.run.bf16, cfg.model.kwargs) == (0.01, 7, True, {"norm": "pn"})
    with pytest.raises(ValueError, match="unknown key optim.lrr"):
        load_config(None, ["--optim.lrr=1"])
    with pytest.raises(ValueError, match="expected int"):
        load_config(None, ["--optim.epochs=many"])


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_loads_and_builds_its_model(path: Path) -> None:
    """A typo in a config's key or architecture would otherwise surface only minutes into a training run."""
    cfg = load_config(path)
    model = build_model(cfg.model.arch, **train.architecture_kwargs(cfg))
    assert sum(p.numel() for p in model.parameters()) > 0
    train.make_optimizer(model, cfg.optim)


def test_adamw_decays_kernels_but_not_norm_scales() -> None:
    model = build_model("bcos_fastnet_cifar10", widths=[4, 4, 8, 8])
    cfg = load_config(None, ["--optim.optimizer=adamw", "--optim.weight_decay=0.5", "--optim.lr=0.1"])
    optimizer = train.make_optimizer(model, cfg.optim)
    kernel, scale = model.stem.weight, model.stem_norm.weight
    before = kernel.detach().clone(), scale.detach().clone()
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # no gradient: only the decoupled decay moves a parameter
    optimizer.step()
    torch.testing.assert_close(kernel.detach(), before[0] * (1 - 0.1 * 0.5))
    torch.testing.assert_close(scale.detach(), before[1], rtol=0, atol=0)
    with pytest.raises(ValueError, match="optim.optimizer must be"):
        train.make_optimizer(model, load_config(None, ["--optim.optimizer=sgd"]).optim)


def test_training_is_deterministic_and_logs(tiny_data, tmp_path) -> None:
    assert train.main(tiny_overrides(tiny_data, tmp_path / "a", epochs=2)) == 0
    assert train.main(tiny_overrides(tiny_data, tmp_path / "b", epochs=2)) == 0
    _assert_same_weights(tmp_path / "a", tmp_path / "b")
    records = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2] and all("test_accuracy" in r for r in records)
    meta = json.loads((tmp_path / "a" / "model.json").read_text())
    assert meta["training"]["epochs"] == 2 and meta["training"]["command"].startswith("python -m training.train")


def test_alignment_is_logged_at_each_evaluation(tiny_data, tmp_path) -> None:
    """``run.alignment_images`` logs the exported model's mean cos(W(x), x) on test images spread over the classes."""
    out = tmp_path / "aligned"
    assert train.main(tiny_overrides(tiny_data, out, epochs=1) + ["--run.alignment_images=6"]) == 0
    (record,) = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    test_images = train.load_datasets(load_config(None, tiny_overrides(tiny_data, out)))[1].images
    spread = torch.linspace(0, len(test_images) - 1, 6).long()
    cosines, _ = explanation_alignment(load_model(out / "model.safetensors").model, test_images[spread])
    assert -1 <= record["test_alignment"] <= 1 and len(set(spread.tolist())) == 6
    assert record["test_alignment"] == pytest.approx(float(cosines.mean()), abs=1e-4)


def test_localisation_is_logged_at_each_evaluation(tiny_data, tmp_path) -> None:
    """``run.localisation_grids`` logs the pointing game at both smoothings; two classes cannot fill a nine-tile grid,
    which the log records as None (the means themselves are checked against the quality table in test_quality)."""
    out = tmp_path / "localised"
    assert train.main(tiny_overrides(tiny_data, out, epochs=2) + ["--run.localisation_grids=3", "--run.eval_every=1"]) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["test_localisation"] for r in records] == [{"grids": 0, "3": None, "1": None}] * 2


def test_resume_after_stop_is_exact(tiny_data, tmp_path) -> None:
    """Stopping after epoch 1 (as a time slice) and resuming gives bit-identical weights."""
    full, sliced = tmp_path / "full", tmp_path / "sliced"
    assert train.main(tiny_overrides(tiny_data, full)) == 0
    assert train.main(tiny_overrides(tiny_data, sliced) + ["--run.max_epochs_this_run=1"]) == 0
    assert json.loads((sliced / "model.json").read_text())["training"]["epochs"] == 1
    assert train.main(tiny_overrides(tiny_data, sliced) + ["--resume"]) == 0
    _assert_same_weights(full, sliced)


def test_a_run_stopped_after_an_epoch_is_its_schedule_cut_short(tiny_data, tmp_path) -> None:
    """``run.stop_after_epoch`` ends the run there, evaluated and exported, with the learning rate of the full schedule
    (the same weights as a time slice of the full run), and a resumed run stays ended."""
    stopped, sliced = tmp_path / "stopped", tmp_path / "sliced"
    assert train.main(tiny_overrides(tiny_data, stopped, epochs=4) + ["--run.stop_after_epoch=2", "--run.eval_every=3"]) == 0
    assert train.main(tiny_overrides(tiny_data, sliced, epochs=4) + ["--run.max_epochs_this_run=2"]) == 0
    _assert_same_weights(stopped, sliced)
    training = json.loads((stopped / "model.json").read_text())["training"]
    assert (training["epochs"], training["planned_epochs"]) == (2, 4)
    records = [json.loads(line) for line in (stopped / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2] and "test_accuracy" in records[-1]  # its last epoch is evaluated
    assert train.main(tiny_overrides(tiny_data, stopped, epochs=4) + ["--run.stop_after_epoch=2", "--resume"]) == 0
    assert len((stopped / "metrics.jsonl").read_text().splitlines()) == 2


def test_weight_average_is_exported_and_resumes_exactly(tiny_data, tmp_path) -> None:
    """With ``optim.ema_decay`` the exported model is the running average (not the last weights), evaluated beside the
    raw weights in the log, and a sliced run resumes to the same average bit for bit."""
    average = ["--optim.ema_decay=0.9"]
    full, sliced = tmp_path / "full", tmp_path / "sliced"
    assert train.main(tiny_overrides(tiny_data, full) + average) == 0
    assert train.main(tiny_overrides(tiny_data, sliced) + average + ["--run.max_epochs_this_run=1"]) == 0
    assert train.main(tiny_overrides(tiny_data, sliced) + average + ["--resume"]) == 0
    _assert_same_weights(full, sliced)

    state, exported = load_file(str(full / "last.safetensors")), _weights(full)
    for key, value in exported.items():
        assert torch.equal(value, state[f"average.module.{key}"]), key
    moved = [k for k, v in exported.items() if v.is_floating_point() and not torch.equal(v, state[f"model.{k}"])]
    assert moved, "the exported weights equal the last raw weights: no averaging happened"
    records = [json.loads(line) for line in (full / "metrics.jsonl").read_text().splitlines()]
    assert all("test_accuracy_raw_weights" in r and "test_accuracy" in r for r in records)
    meta = json.loads((full / "model.json").read_text())
    assert "moving average" in meta["training"]["weights"]
    with pytest.raises(ValueError, match="ema_decay must be"):
        train.main(tiny_overrides(tiny_data, tmp_path / "bad") + ["--optim.ema_decay=1.5"])
    plain = tmp_path / "plain"
    assert train.main(tiny_overrides(tiny_data, plain) + ["--run.max_epochs_this_run=1"]) == 0
    with pytest.raises(ValueError, match="holds no weight average"):
        train.main(tiny_overrides(tiny_data, plain) + average + ["--resume"])


def _spawn(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "training.train", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.time() < deadline, f"{path} did not appear"
        time.sleep(0.2)


def test_raw_weights_of_an_averaging_run_are_the_run_without_averaging(tiny_data, tmp_path) -> None:
    """training.raw_weights exports, from a run with a weight average, exactly what the same run without one exports,
    and says in the metadata which weights it holds (its metrics are left to be measured)."""
    from bcos_core.checkpoints import read_metadata
    from training.raw_weights import main as raw_weights_main

    averaged, plain = tmp_path / "averaged", tmp_path / "plain"
    assert train.main(tiny_overrides(tiny_data, averaged) + ["--optim.ema_decay=0.9"]) == 0
    assert train.main(tiny_overrides(tiny_data, plain)) == 0
    assert raw_weights_main([str(averaged), str(tmp_path / "raw" / "model")]) == 0
    _assert_same_weights(tmp_path / "raw", plain)
    metadata = read_metadata(tmp_path / "raw" / "model")
    assert metadata.metrics == {} and metadata.training["weights"].startswith("raw weights")
    load_model(tmp_path / "raw" / "model.safetensors")  # loads as a model
    assert raw_weights_main([str(tmp_path / "no_run"), str(tmp_path / "x")]) == 2


def test_ctrl_c_saves_mid_epoch_and_resume_is_exact(tiny_data, tmp_path) -> None:
    reference, interrupted = tmp_path / "ref", tmp_path / "int"
    assert train.main(tiny_overrides(tiny_data, reference, epochs=4)) == 0
    process = _spawn(tiny_overrides(tiny_data, interrupted, epochs=4))
    _wait_for(interrupted / "metrics.jsonl", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("training finished before the signal arrived")
    assert process.returncode == 130 and "state saved" in stderr
    assert train.main(tiny_overrides(tiny_data, interrupted, epochs=4) + ["--resume"]) == 0
    _assert_same_weights(reference, interrupted)


def test_kill_9_loses_at_most_the_current_epoch(tiny_data, tmp_path) -> None:
    reference, killed = tmp_path / "ref", tmp_path / "killed"
    assert train.main(tiny_overrides(tiny_data, reference, epochs=4)) == 0
    process = _spawn(tiny_overrides(tiny_data, killed, epochs=4))
    _wait_for(killed / "last.safetensors", process)
    process.kill()
    process.communicate()
    assert train.main(tiny_overrides(tiny_data, killed, epochs=4) + ["--resume"]) == 0
    _assert_same_weights(reference, killed)


def test_evaluate_cli_prints_json(tiny_data, tmp_path, capsys) -> None:
    assert train.main(tiny_overrides(tiny_data, tmp_path, epochs=1)) == 0
    capsys.readouterr()
    assert evaluate.main(["--model", str(tmp_path / "model.safetensors"), "--data", str(tiny_data / "test"), "--cache-dir", ""]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["num_images"] == 48 and len(report["confusion_matrix"]) == 2
    assert sum(map(sum, report["confusion_matrix"])) == 48 and 0 <= report["accuracy"] <= 1
    assert evaluate.main(["--model", str(tmp_path / "missing.safetensors")]) == 2
    assert (
        evaluate.main(
            ["--model", str(tmp_path / "model.safetensors"), "--data", str(tiny_data / "test"), "--cache-dir", "", "--write-metadata"]
        )
        == 0
    )
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["metrics"]["test_accuracy"] == pytest.approx(report["accuracy"], abs=1e-4) and meta["metrics"]["test_images"] == 48


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tiny_data, tmp_path) -> None:
    """torchrun with 2 gloo processes (each half of every global batch) ≈ one process on the whole batch."""
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    args = tiny_overrides(tiny_data, single, epochs=2) + ['--model.kwargs={"norm": "none"}']
    assert train.main(args) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    ddp_args = [a if not a.startswith("--run.out_dir") else f"--run.out_dir={ddp}" for a in args]
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "training.train", *ddp_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((ddp / "model.json").read_text())["training"]["processes"] == 2
    _assert_same_weights(single, ddp, atol=1e-4)


def test_conventional_baseline_trains_with_the_same_pipeline(tiny_data, tmp_path) -> None:
    overrides = [o for o in tiny_overrides(tiny_data, tmp_path, epochs=1) if not o.startswith("--model.arch")]
    assert train.main([*overrides, "--model.arch=conventional_fastnet_cifar10"]) == 0
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["arch"] == "conventional_fastnet_cifar10" and meta["arch_kwargs"] == {}  # no B: not a B-cos network
    loaded = load_model(tmp_path / "model.safetensors")
    assert loaded.model(torch.rand(2, 6, 32, 32)).shape == (2, 2)


def test_bf16_is_used_only_where_the_cpu_has_native_bf16(tmp_path, capsys) -> None:
    from training.hardware import cpu_has_native_bf16, resolve_bf16

    avx2, amx = tmp_path / "avx2", tmp_path / "amx"
    avx2.write_text("flags\t\t: fpu sse2 avx2 fma\n")
    amx.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert not cpu_has_native_bf16(avx2) and cpu_has_native_bf16(amx)
    assert cpu_has_native_bf16(tmp_path / "missing")
    assert resolve_bf16(False) is False
    assert resolve_bf16(True) is cpu_has_native_bf16()
    assert ("no native bfloat16" in capsys.readouterr().err) is (not cpu_has_native_bf16())


def test_fine_tuning_starts_from_the_given_model_and_promotion_keeps_the_better(tiny_data, tmp_path) -> None:
    from bcos_core.checkpoints import CheckpointError
    from training.promote import promote, shipped_runs

    first, tuned = tmp_path / "first", tmp_path / "tuned"
    assert train.main(tiny_overrides(tiny_data, first, epochs=1)) == 0
    # zero learning rate: the fine-tuned parameters must be exactly those it started from (norm statistics move)
    assert train.main([*tiny_overrides(tiny_data, tuned, epochs=1), f"--run.init_from={first / 'model'}", "--optim.lr=0"]) == 0
    before, after = _weights(first), _weights(tuned)
    parameters = [key for key in before if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert len(parameters) > 10 and all(torch.equal(before[key], after[key]) for key in parameters)
    started = json.loads((tuned / "model.json").read_text())["training"]["initialised_from"]
    assert started["path"] == str(first / "model") and started["training"]["epochs"] == 1
    with pytest.raises(CheckpointError, match="the config builds"):
        train.main([*tiny_overrides(tiny_data, tmp_path / "bad", epochs=1), f"--run.init_from={first / 'model'}", "--model.b=1.5"])

    from training.mirror import write_mirrored

    fastnet_config = tmp_path / "fastnet.toml"
    fastnet_config.write_text('[model]\narch = "bcos_fastnet_cifar10"\nkwargs = { widths = [8, 8, 16, 16] }\n')
    fastnet = ["--config", str(fastnet_config), "--model.arch=bcos_fastnet_cifar10"]  # after tiny_overrides' ResNet
    single, from_mirrored = tmp_path / "single", tmp_path / "from_mirrored"
    assert train.main([*tiny_overrides(tiny_data, single, epochs=1), *fastnet]) == 0
    write_mirrored(single / "model", tmp_path / "mirrored" / "model")  # the same weights, applied to both views
    overrides = [*tiny_overrides(tiny_data, from_mirrored, epochs=1), *fastnet, "--optim.lr=0"]
    assert train.main([*overrides, f"--run.init_from={tmp_path / 'mirrored' / 'model'}"]) == 0  # a single-pass run from it
    trained, started_from = _weights(single), _weights(from_mirrored)
    fastnet_parameters = [key for key in trained if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert len(fastnet_parameters) > 10 and all(torch.equal(trained[key], started_from[key]) for key in fastnet_parameters)

    # a fine-tune may set a logit temperature (not a weight) and keep named parameters as they were
    cooled, head_scale = tmp_path / "cooled", "block3.norm2.weight"
    frozen = [*tiny_overrides(tiny_data, cooled, epochs=1), *fastnet, f"--run.init_from={single / 'model'}"]
    cooling = ['--model.kwargs={"widths": [8, 8, 16, 16], "logit_temperature": 2.0}', f'--optim.frozen=["{head_scale}"]']
    assert train.main([*frozen, *cooling]) == 0
    after_cooling = _weights(cooled)
    assert torch.equal(after_cooling[head_scale], trained[head_scale])
    assert not torch.equal(after_cooling["block3.norm1.weight"], trained["block3.norm1.weight"])
    assert json.loads((cooled / "model.json").read_text())["logit_temperature"] == 2.0
    with pytest.raises(ValueError, match="not parameters of the model"):
        train.main([*tiny_overrides(tiny_data, tmp_path / "typo", epochs=1), *fastnet, '--optim.frozen=["block9.weight"]'])

    shipped = tmp_path / "shipped"
    assert shipped_runs(shipped) == []
    assert promote(first / "model", shipped)  # nothing shipped yet
    assert shipped_runs(shipped) == [str(first)]
    meta = json.loads((shipped.with_name("shipped.json")).read_text())
    assert not promote(tuned / "model", shipped)  # equal accuracy: the shipped model stays
    meta["metrics"]["test_accuracy"] = -1.0
    shipped.with_name("shipped.json").write_text(json.dumps(meta))
    assert promote(tuned / "model", shipped)
    assert shipped_runs(shipped) == [str(tuned), str(first)]  # the fine-tuned run, then the run it started from
    # the family script's shell test (scripts/_runs.sh): a run the shipped model came from is done, any other is not
    shell = 'python="$PYTHON"; source "$ROOT/scripts/_runs.sh"; shipped_from "$@"'
    env = {**os.environ, "PYTHON": sys.executable, "ROOT": str(ROOT), "PYTHONPATH": str(ROOT)}
    calls = [["bash", "-c", shell, "shipped_from", str(shipped), str(run)] for run in (tuned, first, single)]
    assert [subprocess.run(call, env=env).returncode for call in calls] == [0, 0, 1]
    assert json.loads(shipped.with_name("shipped.json").read_text())["metrics"]["test_accuracy"] >= 0
