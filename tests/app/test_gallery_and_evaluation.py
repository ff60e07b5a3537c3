"""The neuron gallery and evaluation pages under AppTest: grid, neuron page, labels, missing data, stored results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.evaluation import stored_quality
from app.gallery import open_gallery
from bcos_core.neuron_index import INDEX_DIR_ENV_VAR, SHIPPED_INDEX_DIR, ConceptLabels, labels_path

from .apptest import open_page

INDEX_NAME = "cifar10_fastnet_b2.cifar10-test.safetensors"


def _open(page: str, **params: str) -> AppTest:
    return open_page(page, timeout=240, **params)


@pytest.fixture
def own_index(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped index in a private index folder, so saved labels never touch assets/."""
    shutil.copy(SHIPPED_INDEX_DIR / INDEX_NAME, tmp_path / INDEX_NAME)
    monkeypatch.setenv(INDEX_DIR_ENV_VAR, str(tmp_path))
    open_gallery.clear()
    yield tmp_path / INDEX_NAME
    open_gallery.clear()


def test_gallery_grid_opens_a_neuron_with_explained_tiles(cifar_root, own_index) -> None:
    at = _open("app_pages/neuron_gallery.py", g_layer="block2.conv2")
    opens = [b for b in at.button if b.key and b.key.startswith("open_block2.conv2_")]
    assert len(opens) == 24
    channel = int(opens[0].key.rsplit("_", 1)[1])
    opens[0].click().run()
    assert not at.exception, at.exception
    assert at.subheader[0].value.startswith(f"block2.conv2 · channel {channel}")
    assert len(at.get("image")) >= 16
    assert any("Every tile's contributions sum to its activation" in c.value for c in at.caption)
    assert dict(at.query_params)["neuron"] in (str(channel), [str(channel)])
    at.radio(key="tile_view").set_value("Contributions").run()
    assert not at.exception


def _save_label(at: AppTest, layer: str, channel: int, text: str) -> None:
    at.text_input(key=f"label_{layer}_{channel}").input(text)
    next(b for b in at.button if b.label == "Save label").click().run()
    assert not at.exception, at.exception


def test_labels_are_per_visitor_by_default_and_searchable(cifar_root, own_index, monkeypatch) -> None:
    from app.settings import LABEL_STORE_ENV_VAR

    monkeypatch.delenv(LABEL_STORE_ENV_VAR, raising=False)
    at = _open("app_pages/neuron_gallery.py", g_layer="block3.conv1", neuron="7")
    _save_label(at, "block3.conv1", 7, "striped fur")
    assert at.subheader[0].value.endswith("“striped fur”")
    assert not list(own_index.parent.glob("*.labels.json"))  # nothing written on the server
    at.button(key="back_to_grid").click().run()
    at.text_input(key="label_query").input("STRIPED").run()
    assert [b.key for b in at.button if b.key and b.key.startswith("open_")] == ["open_block3.conv1_7"]
    other_visitor = _open("app_pages/neuron_gallery.py", g_layer="block3.conv1", neuron="7")
    assert other_visitor.subheader[0].value == "block3.conv1 · channel 7"  # another session sees no label


def test_a_shared_label_store_when_the_operator_turns_it_on(cifar_root, own_index, tmp_path, monkeypatch) -> None:
    from app.settings import LABEL_STORE_ENV_VAR

    store = tmp_path / "label-store"
    monkeypatch.setenv(LABEL_STORE_ENV_VAR, str(store))
    at = _open("app_pages/neuron_gallery.py", g_layer="block3.conv1", neuron="7")
    _save_label(at, "block3.conv1", 7, "striped fur")
    fingerprint = open_gallery("cifar10_fastnet_b2").index.header["model"]["fingerprint"]
    assert ConceptLabels.load(store / labels_path(own_index).name, fingerprint).get("block3.conv1", 7) == "striped fur"
    other_visitor = _open("app_pages/neuron_gallery.py", g_layer="block3.conv1", neuron="7")
    assert other_visitor.subheader[0].value.endswith("“striped fur”")


def test_gallery_without_data_still_lists_neurons(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BCOS_DATA_DIR", str(tmp_path))
    open_gallery.clear()
    try:
        at = _open("app_pages/neuron_gallery.py", g_layer="stem", neuron="3")
        assert any("Images unavailable" in w.value for w in at.warning)
        assert at.subheader[0].value.startswith("stem · channel 3") and len(at.get("plotly_chart")) >= 2
    finally:
        open_gallery.clear()


def test_evaluation_page_shows_stored_results_a_live_grid_and_a_deletion_curve(cifar_root) -> None:
    at = _open("app_pages/evaluation.py", image="sample:coffee", grid="2", tile="4")
    titles = [s.value for s in at.subheader]
    assert "Model-inherent contributions vs post-hoc methods" in titles and any("versus B" in t for t in titles)
    assert at.number_input(key="grid").value == 2 and at.selectbox(key="tile").value == 4
    charts = at.get("plotly_chart")
    assert len(charts) >= 2 + 3 + 1  # stored boxes, B family, three live maps, deletion curve
    mass_chart = next(chart for chart in charts if "localisation_mass" in chart.proto.id)  # the shipped default is measured with it
    sent = {trace["name"]: dict(zip(trace["y"], trace["x"])) for trace in json.loads(mass_chart.proto.spec)["data"]}
    stored = stored_quality()["models"]["cifar10_fastnet_b2"]["localisation_mass"]["3"]  # what the browser gets is what is stored
    assert [sent[label]["cifar10_fastnet_b2"] for label in ("own tile", "tiles touching it", "farther")] == pytest.approx(
        [stored["own"], stored["adjacent"], stored["farther"]]
    )
    assert len(at.get("image")) >= 2  # the explanation sheet and the grid with its tile outlined
    assert any("sha256" in c.value for c in at.caption)


def test_random_neuron_button_opens_a_neuron_of_the_layer(cifar_root) -> None:
    at = _open("app_pages/neuron_gallery.py", g_layer="block1.conv1")
    at.button(key="random_neuron").click().run()
    assert not at.exception, at.exception
    assert at.subheader[0].value.startswith("block1.conv1 · channel ")
    at.button(key="back_to_grid").click().run()
    assert not at.exception and not at.subheader


def test_deletion_figure_draws_each_order_of_each_method(cifar_root) -> None:
    from PIL import Image

    from app.evaluation import deletion_curves, deletion_figure
    from app.images import load_image
    from bcos_core import load_model
    from bcos_core.attribution import BCOS

    loaded = load_model("cifar10_fastnet_b2")
    crop = loaded.preprocess.to_array(Image.fromarray(load_image("data:cifar10/test/cat/0001.jpg")))
    figure = deletion_figure(deletion_curves("cifar10_fastnet_b2", crop, 3, (BCOS,)), "cat")
    assert [t.line.dash for t in figure.data] == [None, "dash", "dot"] and figure.data[0].name.endswith(")")
    assert list(figure.data[0].x) == pytest.approx([5.0 * i for i in range(21)])


def test_alignment_profile_draws_each_stored_models_layers_over_depth() -> None:
    from app.evaluation import alignment_by_layer_figure

    quality = {
        "models": {
            "deep": {"alignment": {"mean": 0.3, "by_layer": {"input": 0.3, "stem": 0.5, "block": 0.7}}},
            "old": {"alignment": {"mean": 0.2}},  # measured before profiles were stored: left out
            "shallow": {"alignment": {"mean": 0.1, "by_layer": {"input": 0.1, "stem": 0.2}}},
        }
    }
    figure = alignment_by_layer_figure(quality, ["deep", "old", "shallow", "missing"])
    assert [trace.name for trace in figure.data] == ["deep", "shallow"]
    assert list(figure.data[0].x) == [0.0, 0.5, 1.0] and list(figure.data[0].y) == [0.3, 0.5, 0.7]
    assert list(figure.data[0].customdata) == ["input", "stem", "block"] and list(figure.data[1].x) == [0.0, 1.0]
    assert alignment_by_layer_figure(quality, ["old"]) is None


def _family_quality(colour_errors: list[float | None]) -> dict:
    """Stored quality results of a B family of three, with the given colour errors (None: measured before it was stored)."""
    models = {}
    for b, alignment, error in zip((1.0, 2.0, 2.5), (0.01, 0.29, 0.36), colour_errors):
        entry = {"mean": 0.2 * b, "q1": 0.1 * b, "median": 0.2 * b, "q3": 0.3 * b, "lower_whisker": 0, "upper_whisker": 0.4 * b, "n": 27}
        models[f"b{b:g}"] = {"b": b, "test_accuracy": 0.89, "grids": 3, "localisation": {"3": entry}, "alignment": {"mean": alignment}}
        if error is not None:
            models[f"b{b:g}"]["colour"] = {"error": error, "roughness_ratio": 4.0, "images": 2000}
    return {"smoothings": [3], "models": models}


def test_b_family_figure_draws_the_stored_trends_over_b() -> None:
    from app.evaluation import b_family_figure, family_findings

    quality = _family_quality([0.46, 0.35, 0.37])
    figure = b_family_figure(quality, list(quality["models"]))
    lines = {trace.name: list(trace.y) for trace in figure.data if trace.type == "scatter"}
    assert lines == {"alignment": [0.01, 0.29, 0.36], "colour error": [0.46, 0.35, 0.37], "test accuracy": [89.0, 89.0, 89.0]}
    assert [list(box.median) for box in figure.data if box.type == "box"] == [[0.2], [0.4], [0.5]]
    findings = family_findings(quality, list(quality["models"]))
    assert "rises monotonically" in findings[0] and "rises monotonically" in findings[1]
    assert findings[2].startswith("B family: colour error B 1 → 0.460, B 2 → 0.350, B 2.5 → 0.370") and "does not fall" in findings[2]
    unmeasured = _family_quality([0.46, None, 0.3])  # one member measured before the colour agreement: no colour line
    assert "colour error" not in {trace.name for trace in b_family_figure(unmeasured, list(unmeasured["models"])).data}
    assert len(family_findings(unmeasured, list(unmeasured["models"]))) == 2


def test_localisation_mass_stacks_each_models_shares_beside_a_uniform_map() -> None:
    from app.evaluation import UNIFORM_MAP, localisation_mass_figure

    quality = {
        "smoothings": [3, 1],
        "models": {
            "sharp": {"localisation_mass": {"3": {"own": 0.9, "adjacent": 0.06, "farther": 0.04}, "1": None}},
            "old": {"localisation": {}},  # measured before the breakdown was stored: left out
        },
    }
    figure = localisation_mass_figure(quality, ["sharp", "old", "missing"])
    assert [trace.name for trace in figure.data] == ["own tile", "tiles touching it", "farther"]
    assert all(list(trace.y) == ["sharp", UNIFORM_MAP] for trace in figure.data)
    assert [trace.x[0] for trace in figure.data] == [0.9, 0.06, 0.04]
    assert [trace.x[1] for trace in figure.data] == pytest.approx([1 / 9, 40 / 81, 32 / 81])  # 4 corners, 4 edges, the centre
    assert figure.layout.barmode == "stack" and localisation_mass_figure(quality, ["old"]) is None


def test_localisation_by_rank_draws_each_stored_models_blocks_with_their_logits() -> None:
    from app.evaluation import localisation_by_rank_figure

    ranked = {"first_grid": [1, 101, 201], "logit": [9.5, 7.25, 5.0], "3": [0.95, 0.9, 0.8], "1": [0.9, 0.85, 0.7]}
    quality = {"smoothings": [3, 1], "models": {"ranked": {"localisation_by_rank": ranked}, "old": {"localisation": {}}}}
    figure = localisation_by_rank_figure(quality, ["old", "ranked", "missing"])
    assert [trace.name for trace in figure.data] == ["ranked"]
    assert list(figure.data[0].x) == [1, 101, 201] and list(figure.data[0].y) == [0.95, 0.9, 0.8]  # the paper's smoothing
    assert list(figure.data[0].customdata) == [9.5, 7.25, 5.0]
    assert localisation_by_rank_figure(quality, ["old"]) is None


def test_gallery_tiles_redraw_without_explaining_again(cifar_root, own_index, monkeypatch) -> None:
    import app.gallery

    calls = []
    original = app.gallery.explain_top_images
    monkeypatch.setattr(app.gallery, "explain_top_images", lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    at = _open("app_pages/neuron_gallery.py", g_layer="block2.conv1", neuron="11", smooth="3")
    explained, before = len(calls), [image.proto for image in at.get("image")]
    assert explained >= 1
    at.radio(key="tile_view").set_value("Explanation (RGBA)").run()
    shown = [image.proto for image in at.get("image")]
    at.select_slider(key="smooth").set_value(9).run()
    assert not at.exception and len(calls) == explained  # the tiles were redrawn from the cached explanations
    assert [image.proto for image in at.get("image")] != shown and before


def test_an_imagenet_gallery_builds_and_names_classes(official_format_file, imagenet_samples, tmp_path, monkeypatch) -> None:
    from app.settings import CHECKPOINT_PATHS_ENV_VAR
    from bcos_core.neuron_index.__main__ import main as index_cli

    model = f"bcos_resnet18_imagenet:{official_format_file('resnet18')}"
    monkeypatch.setenv(INDEX_DIR_ENV_VAR, str(tmp_path))
    monkeypatch.setenv(CHECKPOINT_PATHS_ENV_VAR, "1")
    assert index_cli(["build", "--model", model, "--layers", "conv1", "--k", "8", "--batch-size", "100"]) == 0  # the model's data set
    open_gallery.clear()
    at = _open("app_pages/neuron_gallery.py", model=model, g_layer="conv1", neuron="3")
    tiles = at.get("image")
    assert len(tiles) >= 8 and not at.error
    captions = [image.caption for tile in tiles for image in tile.proto.imgs if " · " in image.caption and "2nd peak" not in image.caption]
    names = set(open_gallery(model).class_names)  # tiles are captioned "class · activation"
    assert len(captions) >= 8 and all(caption.split(" · ")[0] in names for caption in captions), captions  # "brambling", not "n01530575"
    open_gallery.clear()


def test_a_vit_gallery_opens_a_token_neuron_with_exact_tiles(tmp_path, monkeypatch) -> None:
    """A CIFAR-size ViT by path: its index builds on an ImageFolder and the gallery shows a block's token neuron, each
    tile explained exactly (the positional embedding as its own term)."""
    import numpy as np
    from PIL import Image

    from app.settings import CHECKPOINT_PATHS_ENV_VAR
    from bcos_core.checkpoints import ModelMetadata, save_model
    from bcos_core.neuron_index.__main__ import main as index_cli
    from bcos_core.zoo import random_model

    rng = np.random.default_rng(0)
    for label, name in enumerate(("ants", "bees")):
        (tmp_path / "toyset" / "test" / name).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) // (label + 1)).save(
                tmp_path / "toyset" / "test" / name / f"{i}.png"
            )
    kwargs = {"dim": 24, "depth": 2, "heads": 2, "mlp_dim": 32, "conv_stem": [8, 16, 16]}
    vit = random_model("bcos_vitc_cifar10", seed=1, num_classes=2, **kwargs)
    weights = save_model(vit, tmp_path / "vit", ModelMetadata("bcos_vitc_cifar10", kwargs, ["ants", "bees"], "toyset", 32, vit.logit_bias))
    for variable, value in ((INDEX_DIR_ENV_VAR, tmp_path / "indexes"), ("BCOS_DATA_DIR", tmp_path), (CHECKPOINT_PATHS_ENV_VAR, "1")):
        monkeypatch.setenv(variable, str(value))
    layer = "transformer.encoder_1"
    assert index_cli(["build", "--model", str(weights), "--data", str(tmp_path / "toyset" / "test"), "--layers", layer, "--k", "8"]) == 0
    open_gallery.clear()
    at = _open("app_pages/neuron_gallery.py", model=str(weights), g_layer=layer, neuron="5")
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value.startswith(f"{layer} · channel 5")
    assert len(at.get("image")) >= 8
    assert any("Every tile's contributions sum to its activation" in c.value for c in at.caption)
    open_gallery.clear()
