"""``python -m training.evaluate --localisation`` on the real CIFAR-10 test folder (skipped without it)."""

from __future__ import annotations

import json

from training import evaluate


def test_localisation_cli_scores_methods_and_saves_a_plot(cifar_root, tmp_path, capsys) -> None:
    out, plot = tmp_path / "loc.json", tmp_path / "loc.png"
    args = [
        "--localisation",
        "--grids",
        "3",
        "--posthoc-grids",
        "2",
        "--methods",
        "B-cos contributions,Grad-CAM,Occlusion",
        "--out",
        str(out),
        "--plot",
        str(plot),
    ]
    assert evaluate.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    stored = json.loads(out.read_text())
    assert printed == stored and plot.stat().st_size > 10_000
    model = stored["models"]["cifar10_fastnet_b2"]
    assert model["grids"] == 3 and len(model["first_grids"]) == 3 and all(len(set(g["classes"])) == 9 for g in model["first_grids"])
    methods = model["methods"]
    assert methods["B-cos contributions"]["n"] == 27 and methods["Grad-CAM"]["n"] == methods["Occlusion"]["n"] == 18
    assert 0 <= methods["B-cos contributions"]["mean_on_posthoc_grids"] <= 1
    for entry in methods.values():
        assert 0 <= entry["min"] <= entry["q1"] <= entry["median"] <= entry["q3"] <= entry["max"] <= 1
    assert stored["data_fingerprint"] and stored["models"]["cifar10_fastnet_b2"]["checkpoint"]["sha256_16"] != "unknown"


def test_unknown_method_is_a_clear_error(cifar_root, capsys) -> None:
    assert evaluate.main(["--localisation", "--methods", "LRP"]) == 2
    assert "unknown methods ['LRP']" in capsys.readouterr().err
