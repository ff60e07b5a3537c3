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
    assert model["grid_recall_blind"] == 0.9 and 0 <= model["grid_recall"] <= 1
    methods = model["methods"]
    assert methods["B-cos contributions"]["n"] == 27 and methods["Grad-CAM"]["n"] == methods["Occlusion"]["n"] == 18
    assert 0 <= methods["B-cos contributions"]["mean_on_posthoc_grids"] <= 1
    for entry in methods.values():
        assert 0 <= entry["min"] <= entry["q1"] <= entry["median"] <= entry["q3"] <= entry["max"] <= 1
    assert stored["data_fingerprint"] and stored["models"]["cifar10_fastnet_b2"]["checkpoint"]["sha256_16"] != "unknown"


def test_unknown_method_is_a_clear_error(cifar_root, capsys) -> None:
    assert evaluate.main(["--localisation", "--methods", "LRP"]) == 2
    assert "unknown methods ['LRP']" in capsys.readouterr().err


def test_a_model_without_confident_images_gets_a_note_not_a_crash() -> None:
    """An untrained model on images of 3 classes cannot form a single 3×3 grid: its entry says so."""
    from types import SimpleNamespace

    import torch

    from bcos_core.zoo import random_model
    from training.data import InMemoryDataset
    from training.localisation import NO_GRID, localise_model

    loaded = SimpleNamespace(
        name="untrained",
        model=random_model("bcos_fastnet_cifar10"),
        metadata=SimpleNamespace(arch="bcos_fastnet_cifar10", arch_kwargs={"b": 2.0}),
    )
    images = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    data = InMemoryDataset(images, torch.arange(40) % 3, [str(c) for c in range(10)])
    entry = localise_model(loaded, data, ["B-cos contributions"], grids=5, posthoc_grids=2)
    assert entry["grids"] == 0 and entry["methods"] == {} and entry["note"] == NO_GRID
