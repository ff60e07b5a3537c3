"""``python -m training.evaluate --quality``: the sheet's layout on generated images, the whole command on real CIFAR-10 images."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import bcos_core
from training import evaluate
from training.quality import SHEET_TILE, compose_sheet, sheet_indices


def test_sheet_takes_the_first_images_of_every_class_in_class_order() -> None:
    labels = torch.tensor([1, 0, 0, 1, 2, 0, 2, 1, 2])
    assert sheet_indices(labels, 2) == [1, 2, 0, 3, 4, 6]


def test_sheet_has_a_row_per_model_under_the_inputs_and_frames_wrong_predictions() -> None:
    inputs = [np.full((32, 32, 3), 200, np.uint8) for _ in range(3)]
    tiles = [np.full((32, 32, 3), value, np.uint8) for value in (0, 60, 120)]
    sheet = np.asarray(compose_sheet(inputs, [("model a", tiles, [True, False, True])], ["cat", "dog", "car"]))
    label_width, title_height, step = 150, 16, SHEET_TILE + 4
    assert sheet.shape == (title_height + 2 * step, label_width + 3 * step, 3)
    centre = lambda row, col: sheet[title_height + row * step + SHEET_TILE // 2, label_width + col * step + SHEET_TILE // 2]  # noqa: E731
    assert centre(0, 0).tolist() == [200] * 3 and centre(1, 2).tolist() == [120] * 3
    frame = sheet[title_height + step + 1, label_width + step + SHEET_TILE // 2]
    assert frame.tolist() == [230, 0, 0]  # the second model tile is a wrong prediction
    assert sheet[title_height + step + 1, label_width + SHEET_TILE // 2].tolist() == [0, 0, 0]  # a right one is not framed


def test_a_long_model_label_widens_the_label_column_instead_of_running_under_the_tiles() -> None:
    inputs = [np.full((32, 32, 3), 200, np.uint8)]
    short = np.asarray(compose_sheet(inputs, [("model a", inputs, [True])], ["cat"]))
    label = "cifar10_fastnet_b2_cooled8_mirror_with_a_long_suffix"
    long = np.asarray(compose_sheet(inputs, [(label, inputs, [True])], ["cat"]))
    widened = long.shape[1] - short.shape[1]
    assert widened > 0 and long.shape[0] == short.shape[0]
    label_band = long[16 + SHEET_TILE + 4 :, : 150 + widened]  # the model row, left of its tile
    text_columns = np.flatnonzero((label_band < 128).any(axis=(0, 2)))
    assert text_columns.max() > 150  # the label's end is drawn past the old fixed column ...
    assert text_columns.max() < 150 + widened  # ... and before the tile starts


@pytest.fixture(scope="module")
def small_cifar_test(cifar_root, tmp_path_factory):
    """The first 30 test images of every class, copied to a temporary ImageFolder (never into the repository)."""
    root = tmp_path_factory.mktemp("cifar_small") / "test"
    for class_dir in sorted((cifar_root / "test").iterdir()):
        (root / class_dir.name).mkdir(parents=True)
        for path in sorted(class_dir.iterdir())[:30]:
            shutil.copy(path, root / class_dir.name / path.name)
    return root


def test_quality_cli_reports_accuracy_localisation_alignment_and_writes_the_sheet(small_cifar_test, tmp_path, capsys) -> None:
    out, sheet = tmp_path / "quality.json", tmp_path / "sheet.png"
    args = [
        "--quality",
        "--model",
        "cifar10_fastnet_b2",
        "--data",
        str(small_cifar_test),
        "--cache-dir",
        "",
        "--grids",
        "3",
        "--out",
        str(out),
        "--sheet",
        str(sheet),
    ]
    assert evaluate.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    model = printed["models"]["cifar10_fastnet_b2"]
    assert 0.6 < model["test_accuracy"] <= 1 and model["grids"] == 3
    assert set(model["localisation"]) == {"3", "1"} and all(entry["n"] == 27 for entry in model["localisation"].values())
    assert model["localisation"]["3"]["mean"] != model["localisation"]["1"]["mean"]
    class_names = {path.name for path in small_cifar_test.iterdir()}
    for smooth, by_class in model["localisation_by_class"].items():  # every tile counted once, under its class's name
        assert set(by_class) <= class_names
        assert sum(entry["n"] for entry in by_class.values()) == 27
        weighted = sum(entry["mean"] * entry["n"] for entry in by_class.values()) / 27
        assert weighted == pytest.approx(model["localisation"][smooth]["mean"], abs=1e-3)
    for smooth, mass in model["localisation_mass"].items():  # own, touching, farther: all of every map's mass
        assert mass["own"] == pytest.approx(model["localisation"][smooth]["mean"], abs=1e-3)
        assert sum(mass.values()) == pytest.approx(1, abs=1e-3) and min(mass.values()) >= 0
    ranked = model["localisation_by_rank"]  # three grids fill one block: its mean is the mean, of confident images
    assert ranked["first_grid"] == [1] and ranked["logit"][0] > 0
    assert all(ranked[s][0] == pytest.approx(model["localisation"][s]["mean"], abs=1e-3) for s in ("3", "1"))
    assert 0 < model["grid_recall"] <= 1
    for pairs in model["mass_between_classes"].values():  # every class, every other class, shares or None
        assert set(pairs) == class_names and all(set(row) == class_names - {c} for c, row in pairs.items())
        assert all(share is None or 0 <= share <= 1 for row in pairs.values() for share in row.values())
    assert 0 < model["alignment"]["mean"] < 1 and model["alignment"]["std"] > 0
    profile = model["alignment"]["by_layer"]  # the input, then every cut of the FastNet below its classifier
    assert list(profile)[:3] == ["input", "stem", "block1.conv1"] and "classifier" not in profile
    assert profile["input"] == model["alignment"]["mean"] and all(-1 < value < 1 for value in profile.values())
    colour = model["colour"]  # every one of the 300 images (fewer than the 2,000 spread ones) has a drawn explanation
    assert colour["images"] == 300 and 0 < colour["error"] < 1 and colour["roughness_ratio"] > 1
    assert len(printed["sheet"]["images"]) == 20
    image = Image.open(sheet)
    assert image.size == (150 + 20 * (SHEET_TILE + 4), 16 + 2 * (SHEET_TILE + 4))
    # a model measured later joins the results and the sheet; the earlier one is kept as measured
    assert evaluate.main([*args[:2], "cifar10_vgg9_b2", *args[3:], "--append"]) == 0
    appended = json.loads(out.read_text())
    assert list(appended["models"]) == ["cifar10_fastnet_b2", "cifar10_vgg9_b2"] and appended["models"]["cifar10_fastnet_b2"] == model
    assert Image.open(sheet).size == (150 + 20 * (SHEET_TILE + 4), 16 + 3 * (SHEET_TILE + 4))
    # results measured apart (say, in parallel) merge without measuring anything again
    apart = tmp_path / "apart.json"
    assert evaluate.main([*args[:2], "cifar10_vgg9_b2.5", *args[3:8], "3", "--out", str(apart)]) == 0
    merged = tmp_path / "merged.json"
    assert evaluate.main(["--quality", *args[3:8], "3", "--out", str(merged), "--merge", str(out), "--merge", str(apart)]) == 0
    assert list(json.loads(merged.read_text())["models"]) == ["cifar10_fastnet_b2", "cifar10_vgg9_b2", "cifar10_vgg9_b2.5"]
    # a row stored without the colour agreement gets it measured alone, the same as in the whole measurement
    stored = json.loads(merged.read_text())
    del stored["models"]["cifar10_fastnet_b2"]["colour"]
    merged.write_text(json.dumps(stored))
    assert evaluate.main([*args[:8], "3", "--out", str(merged), "--append", "--colours-only"]) == 0
    assert json.loads(merged.read_text())["models"]["cifar10_fastnet_b2"] == model
    capsys.readouterr()
    unmeasured = ["--quality", "--model", "cifar10_vgg9_b1.5", *args[3:8], "3"]
    assert evaluate.main([*unmeasured, "--out", str(merged), "--append", "--colours-only"]) == 2
    assert "no stored row for cifar10_vgg9_b1.5" in capsys.readouterr().err
    # a stored row whose model is gone cannot be drawn in the sheet: a clear error before anything is measured
    stored["models"]["gone"] = {**model, "checkpoint": {"path": str(tmp_path / "gone.safetensors")}}
    merged.write_text(json.dumps(stored))
    assert evaluate.main([*unmeasured, "--out", str(merged), "--append", "--sheet", str(sheet)]) == 2
    assert "gone.safetensors: no such model file" in capsys.readouterr().err
    with pytest.raises(ValueError, match="measured differently"):
        evaluate.main([*args[:2], "cifar10_vgg9_b2.5", *args[3:8], "4", *args[9:], "--append"])


def test_the_training_logs_localisation_is_the_quality_tables(small_cifar_test) -> None:
    """``localisation_means`` (what ``run.localisation_grids`` logs each evaluation) gives the quality table's means."""
    from training.data import load_image_folder
    from training.quality import localisation_means, measure_quality

    loaded, data = bcos_core.load_model("cifar10_fastnet_b2"), load_image_folder(small_cifar_test)
    table = measure_quality(loaded, data, grids=4)["localisation"]
    logged = localisation_means(loaded.model, data, grids=4)
    assert logged.pop("grids") == 4 and set(logged) == {"3", "1"} and logged["3"] != logged["1"]
    assert all(logged[smooth] == pytest.approx(table[smooth]["mean"], abs=1e-4) for smooth in logged)


def test_localisation_by_rank_averages_each_block_of_grids_with_its_tiles_logit() -> None:
    from bcos_core.localisation import Grid
    from training.quality import by_confidence_rank, localisation_by_rank

    grids = [Grid(images=(2 * g, 2 * g + 1), classes=(0, 1)) for g in range(5)]  # two tiles each, images 0–9
    logits = torch.zeros(10, 2)
    logits[torch.arange(10), torch.arange(10) % 2] = torch.linspace(4, -4, 10)  # each tile's own logit falls with rank
    scores = {3: torch.arange(10, dtype=torch.float32).reshape(5, 2) / 10}
    ranked = by_confidence_rank(grids, scores, logits, block=2)
    assert ranked["first_grid"] == [1, 3, 5]
    assert ranked["3"] == pytest.approx([0.15, 0.55, 0.85])  # the last block holds the one grid left
    expected = [float(torch.linspace(4, -4, 10)[i : i + 4].mean()) for i in (0, 4, 8)]
    assert ranked["logit"] == pytest.approx(expected, abs=1e-3) and ranked["logit"][0] > ranked["logit"][2]
    line = localisation_by_rank({"smoothings": [3], "models": {"m": {"localisation_by_rank": ranked}, "old": {}}})
    assert line == "- `m` (smoothing 3, by grids from): 1: 0.150 (logit 2.7), 3: 0.550 (logit -0.9), 5: 0.850 (logit -3.6)"


def test_models_sharing_a_file_name_are_labelled_by_their_folder(tmp_path) -> None:
    from training.quality import model_labels

    a, b, c = (
        SimpleNamespace(name=n, weights_path=tmp_path / d / f"{n}.safetensors")
        for n, d in (("model", "fastnet"), ("model", "vgg9"), ("cifar10_fastnet_b2", "models"))
    )
    assert model_labels([a, b, c]) == ["fastnet", "vgg9", "cifar10_fastnet_b2"]
    assert model_labels([b]) == ["vgg9"], "a run's export measured alone (to be appended) keeps its label"


def test_markdown_table_has_a_row_per_model_with_the_stored_figures() -> None:
    from training.quality import markdown_table

    entry = lambda mean: {"mean": mean}  # noqa: E731
    results = {
        "smoothings": [3, 1],
        "models": {
            "a": {
                "b": 2.0,
                "test_accuracy": 0.8864,
                "localisation": {"3": entry(0.9634), "1": entry(0.817)},
                "alignment": {"mean": 0.2604},
            },
            "b": {"b": None, "test_accuracy": 0.5, "localisation": {"3": entry(0.5), "1": entry(0.25)}, "alignment": {"mean": 0.1}},
        },
    }
    lines = markdown_table(results).splitlines()
    assert lines[0] == "| model | B | test accuracy | localisation (smoothing 3) | localisation (smoothing 1) | alignment |"
    assert lines[2] == "| `a` | 2 | 88.64 % | 0.963 | 0.817 | 0.260 |" and lines[3].startswith("| `b` | – | 50.00 %")
    results["models"]["a"]["training_speed"] = {"images_per_s": 48.2, "threads": 1}
    lines = markdown_table(results).splitlines()
    assert lines[0].endswith("| alignment | training images/s |")
    assert lines[2].endswith("| 0.260 | 48.2 (1 thread) |") and lines[3].endswith("| 0.100 | – |")
    results["models"]["a"]["colour"] = {"error": 0.3308, "roughness_ratio": 3.6376, "images": 2000}
    lines = markdown_table(results).splitlines()
    assert lines[0].endswith("| alignment | colour error | roughness ratio | training images/s |")
    assert lines[2].endswith("| 0.260 | 0.331 | 3.64 | 48.2 (1 thread) |") and lines[3].endswith("| 0.100 | – | – | – |")
    results["models"]["a"]["grids"], results["models"]["b"]["grids"] = 500, 4  # b filled few grids: say so beside its means
    lines = markdown_table(results).splitlines()
    assert "| 0.963 | 0.817 |" in lines[2] and "| 0.500 (4 grids) | 0.250 (4 grids) |" in lines[3]


def test_alignment_profiles_list_each_models_layers_in_order() -> None:
    from training.quality import alignment_profiles

    results = {"models": {"a": {"alignment": {"mean": 0.3, "by_layer": {"input": 0.3, "stem": 0.41}}}, "old": {"alignment": {"mean": 0.2}}}}
    assert alignment_profiles(results) == "- `a`: input 0.300 → stem 0.410"


def test_localisation_spread_gives_each_models_quartiles_at_every_smoothing() -> None:
    from training.quality import localisation_spread

    spread = lambda q1, median, q3: {"mean": median, "q1": q1, "median": median, "q3": q3}  # noqa: E731
    results = {
        "smoothings": [3, 1],
        "models": {
            "a": {"localisation": {"3": spread(0.6866, 0.8657, 0.944), "1": spread(0.6307, 0.8235, 0.9031)}},
            "no_grid": {"localisation": {"3": None, "1": None}},
        },
    }
    assert localisation_spread(results) == "- `a` (quartiles): smoothing 3: 0.687 / 0.866 / 0.944; smoothing 1: 0.631 / 0.824 / 0.903"


def test_localisation_by_class_tabulates_the_models_measured_with_it_at_the_papers_smoothing() -> None:
    from training.quality import localisation_by_class

    def by_class(cat: float, dog: float) -> dict:
        return {"cat": {"mean": cat, "n": 4}, "dog": {"mean": dog, "n": 5}}

    results = {
        "smoothings": [3, 1],
        "models": {
            "a": {"localisation_by_class": {"3": by_class(0.91234, 0.5), "1": by_class(0.1, 0.2)}},
            "older": {"localisation": {}},  # stored before the breakdown existed: no row
            "no grid": {"localisation_by_class": {"3": None, "1": None}},
        },
    }
    table = ["| model (smoothing 3) | cat | dog |", "|---|---|---|", "| `a` | 0.912 | 0.500 |"]
    assert localisation_by_class(results).splitlines() == table
    assert localisation_by_class({"smoothings": [3], "models": {"older": {}}}) == ""


def test_localisation_mass_tabulates_own_touching_and_farther_shares_with_a_uniform_reference() -> None:
    from training.quality import localisation_mass

    mass = {"3": {"own": 0.9, "adjacent": 0.08, "farther": 0.02}, "1": {"own": 0.7, "adjacent": 0.2, "farther": 0.1}}
    results = {
        "smoothings": [3, 1],
        "models": {"a": {"localisation_mass": mass, "grid_recall": 0.96}, "older": {"localisation": {}}},
    }
    assert localisation_mass(results).splitlines() == [
        "| model | smoothing | own tile | tiles touching it | farther | grid recall |",
        "|---|---|---|---|---|---|",
        "| `a` | 3 | 0.900 | 0.080 | 0.020 | 0.960 |",
        "| `a` | 1 | 0.700 | 0.200 | 0.100 | 0.960 |",
        "| a uniform map | any | 0.111 | 0.494 | 0.395 | – |",
    ]
    assert localisation_mass({"smoothings": [3], "models": {"older": {}}}) == ""


def test_strongest_class_pairs_lists_the_largest_shares_on_other_classes_tiles() -> None:
    from training.quality import strongest_class_pairs

    pairs = {"cat": {"dog": 0.2, "ship": None}, "dog": {"cat": 0.15, "ship": 0.01}, "ship": {"cat": 0.05, "dog": None}}
    results = {"smoothings": [3, 1], "models": {"a": {"mass_between_classes": {"3": pairs, "1": None}}, "older": {}}}
    assert strongest_class_pairs(results, 2) == "- `a` (smoothing 3): cat → dog 0.200, dog → cat 0.150"
    assert strongest_class_pairs({"smoothings": [3], "models": {"older": {}}}) == ""


def test_training_speed_counts_the_images_of_every_epoch() -> None:
    from training.quality import training_speed

    record = {"epochs": 4, "wall_time_s": 1000.0, "threads": 2, "config": {"data": {"train_subset": 20000}}}
    assert training_speed(record) == {"images_per_s": 80.0, "threads": 2}
    assert training_speed({**record, "train_images": 50000, "config": {"data": {"train_subset": 0}}}) == {
        "images_per_s": 200.0,
        "threads": 2,
    }
    assert training_speed({"epochs": 4, "wall_time_s": 1000.0, "config": {"data": {"train_subset": 0}}}) is None  # size unknown


def test_a_model_with_no_confident_images_gets_no_localisation_but_the_rest(tmp_path) -> None:
    from bcos_core.zoo import random_model
    from training.data import InMemoryDataset
    from training.quality import markdown_table, measure_quality

    loaded = SimpleNamespace(
        name="untrained",
        model=random_model("bcos_fastnet_cifar10"),
        metadata=SimpleNamespace(arch="bcos_fastnet_cifar10", arch_kwargs={"b": 2.0}, training={}),
        weights_path=None,
    )
    data = InMemoryDataset(
        torch.randint(0, 256, (20, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)),
        torch.arange(20) % 10,
        [str(c) for c in range(10)],
    )
    result = measure_quality(loaded, data, grids=5)
    assert result["grids"] == 0 and result["localisation"] == result["localisation_by_class"] == {"3": None, "1": None}
    assert result["localisation_mass"] == result["mass_between_classes"] == {"3": None, "1": None} and result["grid_recall"] is None
    assert 0 <= result["test_accuracy"] <= 1 and -1 <= result["alignment"]["mean"] <= 1
    assert "– (no grid)" in markdown_table({"smoothings": [3, 1], "models": {"untrained": result}})
    assert "path" not in result["checkpoint"]  # no file to load it again from


def test_a_stored_row_of_a_model_file_is_loaded_again_from_that_file(tmp_path) -> None:
    """Rows merged later get their sheet rows from their models: a registered one by name, a file by the path stored."""
    from bcos_core.checkpoints import CheckpointError, checkpoint_paths
    from training.data import InMemoryDataset
    from training.quality import measure_quality, stored_model

    registered = bcos_core.registry.get_entry("cifar10_vgg9_b2.5").weights_path
    copy = tmp_path / "run" / "model.safetensors"
    copy.parent.mkdir()
    for source, target in zip(checkpoint_paths(registered), checkpoint_paths(copy)):
        shutil.copy(source, target)
    data = InMemoryDataset(torch.zeros(10, 3, 32, 32, dtype=torch.uint8), torch.arange(10), bcos_core.load_model(copy).class_names)
    row = measure_quality(bcos_core.load_model(copy), data, grids=1)
    assert row["checkpoint"]["path"] == str(copy)
    assert stored_model("run", row).weights_path == copy
    assert stored_model("cifar10_vgg9_b2.5", {"checkpoint": {"name": "cifar10_vgg9_b2.5"}}).name == "cifar10_vgg9_b2.5"
    with pytest.raises(CheckpointError, match="no such model file or registered model"):
        stored_model("run", {"checkpoint": {"name": "model"}})  # stored before rows named their file
