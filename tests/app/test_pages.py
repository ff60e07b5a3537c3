"""Every dashboard page under Streamlit's AppTest: no exception, key elements, deep links, widget changes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from .apptest import ENTRY
from .apptest import open_page as _open


def _metrics(at: AppTest) -> dict[str, float]:
    return {m.label: float(m.value) for m in at.metric}


def _assert_exact(at: AppTest, output_label: str) -> None:
    values = _metrics(at)
    assert values["= explained"] == pytest.approx(values[output_label], abs=2e-5)


def test_class_page_readout_deep_link_and_widget() -> None:
    at = _open(image="sample:coffee", k="3", cls="8")
    assert at.title[0].value == "Class explanations"
    assert at.selectbox(key="cls").value == 8 and at.slider(key="k").value == 3
    _assert_exact(at, "model's logit")
    assert len(at.get("plotly_chart")) >= 5  # probabilities, contribution map, overlay, evidence for and against
    assert len(_pictures(at)) >= 3 + 3  # input, model input, explanation, then one per top-3 class
    assert any("averaged over the image and its mirror image" in c.value for c in at.sidebar.caption)  # the default's design
    assert all(url.endswith(".png") for url in _pictures(at))  # lossless: Streamlit would send arrays as JPEG
    at.slider(key="k").set_value(4).run()
    assert not at.exception
    assert dict(at.query_params)["k"] in ("4", ["4"])


def _pictures(at: AppTest) -> list[str]:
    """The page's pictures in order, by their served URL (it changes with the pixels)."""
    return [image.url for element in at.get("image") for image in element.proto.imgs]


def test_rendering_options_redraw_without_explaining_again(monkeypatch) -> None:
    import bcos_core

    calls = []
    original = bcos_core.explain_classes
    monkeypatch.setattr(bcos_core, "explain_classes", lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    at = _open(image="sample:rocket", cls="1", smooth="3")
    charts, pictures, explained = [c.proto.spec for c in at.get("plotly_chart")], _pictures(at), len(calls)
    at.select_slider(key="smooth").set_value(9).run()
    assert not at.exception and dict(at.query_params)["smooth"] in ("9", ["9"])
    assert len(calls) == explained  # the cached explanation was redrawn, not recomputed
    assert charts == [c.proto.spec for c in at.get("plotly_chart")]  # contribution maps do not depend on the rendering
    changed = [a != b for a, b in zip(pictures, _pictures(at))]
    assert changed[:3] == [False, False, True]  # input and model input stay; the RGBA explanation is redrawn
    grid, panel = changed[3:8], changed[8:]  # the top-5 grid (explanation over contributions), then the "what feeds this" tiles
    assert grid == [True] * 5  # every class's picture is redrawn with the new smoothing
    assert panel and not any(panel)  # nothing in the panel depends on the rendering options
    at.radio(key="bg").set_value("white").run()
    assert not at.exception and len(calls) == explained


def test_delta_page_sums_to_gap_and_round_trips() -> None:
    at = _open("app_pages/delta.py", image="sample:astronaut")
    _assert_exact(at, "model's logit gap")
    c1, c2 = at.selectbox(key="c1").value, at.selectbox(key="c2").value
    again = _open("app_pages/delta.py", image="sample:astronaut", c1=str(c2), c2=str(c1))
    assert (again.selectbox(key="c1").value, again.selectbox(key="c2").value) == (c2, c1)
    assert _metrics(again)["model's logit gap"] == pytest.approx(-_metrics(at)["model's logit gap"], abs=1e-4)


def test_neuron_page_deep_link_position() -> None:
    at = _open("app_pages/neurons.py", layer="block1.conv1", ch="3", row="5", col="7")
    assert at.selectbox(key="layer").value == "block1.conv1" and at.selectbox(key="ch").value == 3
    assert any("(row 5, col 7)" in m.value for m in at.markdown)
    _assert_exact(at, "model's |activation|")
    at.selectbox(key="ch").set_value(4).run()
    assert not at.exception and dict(at.query_params)["ch"] in ("4", ["4"])


def test_neuron_page_offers_the_index_layers_and_marks_a_model_without_index() -> None:
    """One layer vocabulary: every layer offered for the default model opens its gallery; a model without an index
    says so beside each layer and instead of the gallery link."""
    from bcos_core.layers import explorable_layers
    from bcos_core.registry import get_entry
    from bcos_core.zoo import load_model

    at = _open("app_pages/neurons.py")
    assert at.selectbox(key="layer").options == explorable_layers(load_model().model)
    assert any(link.proto.page == "gallery" for link in at.get("page_link"))
    other = _open("app_pages/neurons.py", model="cifar10_vgg9_b2")
    assert all(option.endswith("(not in the neuron index)") for option in other.selectbox(key="layer").options)
    assert any("has no neuron index" in caption.value for caption in other.caption)
    mirrored = bool(get_entry("cifar10_vgg9_b2").arch_kwargs.get("mirror_average"))
    assert any("mirror image" in caption.value for caption in other.sidebar.caption) == mirrored  # said only of mirror averaging


def test_b_family_page() -> None:
    import bcos_core
    from app.evaluation import stored_quality
    from bcos_core.checkpoints import read_metadata

    at = _open("app_pages/b_family.py")
    assert at.title[0].value == "B family"
    family = bcos_core.registry.b_family()
    if not family:
        assert at.info
        return
    assert len(_pictures(at)) >= 1 + len(family) and len(at.get("plotly_chart")) >= len(family)  # input; explanations, contributions
    budgets = {read_metadata(bcos_core.registry.get_entry(name).weights_path).training_budget for name in family}
    mixed = len(bcos_core.registry.architecture_variants(family)) > 1 or len(budgets) > 1
    warnings = [w.value for w in at.warning if "differ in more than B" in w.value]
    assert bool(warnings) == mixed  # said only while members differ beyond B: in architecture or in training
    assert len(budgets) == 1 or all(budget in warnings[0] for budget in budgets)  # e.g. "16 + 8 epochs of 50,000 images"
    quality = stored_quality()
    stored = [n for n in family if quality and n in quality["models"]]
    if len(stored) > 1:
        assert any("versus B" in s.value for s in at.subheader) and len(at.dataframe) == 1
        table = at.dataframe[0].value
        assert sorted(table["model"]) == sorted(stored) and (table["alignment cos(W(x), x)"] > 0).all()
        for name, error in zip(table["model"], table["colour error"]):  # the stored colour agreement, blank where not measured
            stored_error = (quality["models"][name].get("colour") or {}).get("error")
            assert error == pytest.approx(stored_error) if stored_error is not None else pd.isna(error)
        with_mass = [n for n in stored if quality["models"][n].get("localisation_mass")]  # drawn for the members measured with it
        assert any("localisation_mass" in chart.proto.id for chart in at.get("plotly_chart")) == bool(with_mass)


def test_b_family_page_compares_other_models_of_the_data_set() -> None:
    """Models of the same data set join the family's row by deep link (unknown names are dropped), each explained."""
    import bcos_core

    family = bcos_core.registry.b_family()
    if not family:
        pytest.skip("no B-family models are shipped")
    at = _open("app_pages/b_family.py", compare="cifar10_fastnet_b2,no_such_model")
    assert not at.exception
    assert at.multiselect(key="compare").value == ["cifar10_fastnet_b2"]
    assert "v2_resnet50" not in at.multiselect(key="compare").options  # ImageNet models are not offered for CIFAR images
    assert len(_pictures(at)) >= 1 + len(family) + 1 and len(at.get("plotly_chart")) >= len(family) + 1
    assert any("cifar10_fastnet_b2" in m.value for m in at.markdown)
    assert dict(at.query_params)["compare"] in ("cifar10_fastnet_b2", ["cifar10_fastnet_b2"])


def test_toy_page_deep_link_restores_b_and_problem() -> None:
    at = _open("app_pages/toy.py", B="5.0", spread="0.1", size="20", preset="paper")
    assert at.select_slider(key="B").value == 5.0
    assert at.slider(key="spread").value == pytest.approx(0.1) and at.slider(key="size").value == 20
    assert len(at.get("plotly_chart")) == 3
    at.select_slider(key="B").set_value(10.0).run()
    assert not at.exception


def test_teacher_mode_hides_controls() -> None:
    at = _open("app_pages/toy.py", teacher="1", hide="problem,B")
    assert not [s for s in at.slider if s.key == "spread"]
    assert not [s for s in at.select_slider if s.key == "B"]


def test_the_picker_lists_every_official_model_with_its_accuracy() -> None:
    at = _open()
    options = at.sidebar.selectbox(key="model_choice").options
    assert any(o.startswith("v2_convnext_tiny · imagenet · 77.5% reported") for o in options), options[:5]
    assert any(o.startswith("v2_resnet152_long ·") for o in options)
    assert any(o.startswith("v2_vitc_ti_patch1_14 · imagenet · 67.3% reported") for o in options)


def test_model_paths_only_where_the_operator_allows_them(tmp_path, monkeypatch) -> None:
    from app.settings import CHECKPOINT_PATHS_ENV_VAR

    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"garbage")
    (tmp_path / "broken.json").write_text("{}")
    monkeypatch.delenv(CHECKPOINT_PATHS_ENV_VAR, raising=False)
    at = _open(model=str(broken))  # a public server: the path is not tried, the default model is shown
    assert "Checkpoint file…" not in at.sidebar.selectbox(key="model_choice").options
    assert any("does not load models by path" in w.value for w in at.sidebar.warning)
    assert dict(at.query_params)["model"] in ("cifar10_fastnet_b2", ["cifar10_fastnet_b2"]) and not at.error
    monkeypatch.setenv(CHECKPOINT_PATHS_ENV_VAR, "1")
    at = _open(model=str(broken))
    assert at.error and "Cannot load model" in at.error[0].value


def test_an_official_format_imagenet_model_by_path_explains_an_imagenet_sample(official_format_file, imagenet_samples, monkeypatch) -> None:
    import app.pictures
    from app.settings import CHECKPOINT_PATHS_ENV_VAR

    shown = {}
    draw = app.pictures.show_picture
    record = lambda pixels, *args, key=None: shown.update({key: pixels.shape}) or draw(pixels, *args, key=key)  # noqa: E731
    monkeypatch.setattr(app.pictures, "show_picture", record)
    monkeypatch.setenv(CHECKPOINT_PATHS_ENV_VAR, "1")
    path = official_format_file("resnet18")
    at = _open(model=f"bcos_resnet18_imagenet:{path}", image="data:imagenet-samples/n01530575/n01530575_0.jpg", k="2")
    assert at.sidebar.selectbox(key="model_choice").value == "Checkpoint file…"
    assert at.sidebar.text_input(key="model_path").value == str(path)
    assert at.sidebar.selectbox(key="model_arch").value == "bcos_resnet18_imagenet"
    assert "bcos_vitc_ti_patch1_14" in at.sidebar.selectbox(key="model_arch").options
    classes = at.sidebar.selectbox(key="data_class")
    assert at.sidebar.radio[0].value == "Data set" and classes.format_func(classes.value) == "brambling" and len(classes.options) == 1000
    assert at.select_slider(key="smooth").value == 15  # the paper's ImageNet smoothing
    assert not any("mirror image" in caption.value for caption in at.sidebar.caption)  # a single-pass model
    _assert_exact(at, "model's logit")
    assert shown["rgba"] == (224, 224, 3)  # the explanation at the model's input size, not enlarged further
    at.sidebar.selectbox(key="model_choice").set_value("cifar10_fastnet_b2").run()
    assert not at.exception and at.select_slider(key="smooth").value == 3  # back to the CIFAR-10 default


def test_a_vit_by_path_shows_its_positional_embedding_and_token_neurons(official_format_file, imagenet_samples, monkeypatch) -> None:
    """A B-cos ViT-C (random weights in the official format): the class and Δ readouts add the positional embedding's
    exact term, and the neuron explorer shows a block's neurons on the 14 × 14 grid of tokens."""
    from app.settings import CHECKPOINT_PATHS_ENV_VAR

    pytest.importorskip("einops", reason="the official ViTs need einops")
    monkeypatch.setenv(CHECKPOINT_PATHS_ENV_VAR, "1")
    path = official_format_file("vitc_ti_patch1_14")
    image = "data:imagenet-samples/n01530575/n01530575_0.jpg"
    at = _open(model=f"bcos_vitc_ti_patch1_14:{path}", image=image, k="2")
    values = _metrics(at)
    assert values["+ positional embedding"] != 0.0
    assert values["Σ contributions"] + values["+ positional embedding"] + values["+ bias"] == pytest.approx(values["= explained"], abs=2e-5)
    _assert_exact(at, "model's logit")
    at.switch_page("app_pages/delta.py").run()
    assert not at.exception, at.exception
    assert "+ positional embedding" in _metrics(at)
    _assert_exact(at, "model's logit gap")
    at.query_params["layer"] = "transformer.encoder_3.attn.to_out"
    at.switch_page("app_pages/neurons.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="layer").set_value("transformer.encoder_3.attn.to_out").run()
    assert not at.exception, at.exception
    activation_map = next(c for c in at.get("plotly_chart") if "-act_transformer_encoder_3" in c.proto.id)
    z = json.loads(activation_map.proto.spec)["data"][0]["z"]
    assert (z["shape"] if isinstance(z, dict) else f"{len(z)}, {len(z[0])}") == "14, 14"  # the grid of tokens
    _assert_exact(at, "model's |activation|")
    attention = next(c for c in at.get("plotly_chart") if "attention_map" in c.proto.id)  # shown beside, as what it is
    assert any("not an explanation" in m.value for m in at.markdown)
    assert at.select_slider(key="head").options == ["0", "1", "2"]
    assert json.loads(attention.proto.spec)["data"]


def test_data_set_images_and_misclassified_button(cifar_root) -> None:
    image = "data:cifar10/test/cat/" + sorted(p.name for p in (cifar_root / "test" / "cat").iterdir())[7]
    at = _open(image=image)
    assert at.sidebar.radio[0].value == "Data set" and at.selectbox(key="data_class").value == 3
    _assert_exact(at, "model's logit")
    at.button(key="misclassified").click().run()
    assert not at.exception
    chosen = dict(at.query_params)["image"]
    chosen = chosen[0] if isinstance(chosen, list) else chosen
    assert chosen.startswith("data:cifar10/test/") and chosen != image


def test_a_new_image_starts_at_its_own_top_classes() -> None:
    at = _open(image="sample:coffee")
    first_top = at.selectbox(key="cls").value
    at.selectbox(key="cls").set_value(9 if first_top != 9 else 8).run()
    at.selectbox(key="sample").set_value("rocket").run()
    assert not at.exception
    chosen = at.selectbox(key="cls")
    assert chosen.format_func(chosen.value) == chosen.options[0]  # the options are ranked from the highest logit down
    assert dict(at.query_params)["image"] in ("sample:rocket", ["sample:rocket"])


def test_delta_pair_follows_the_image_and_the_uncertain_jump_shows_the_named_pair(cifar_root) -> None:
    at = _open("app_pages/delta.py", image="sample:astronaut")
    names = [option.split(" (")[0] for option in at.selectbox(key="c1").options]
    at.selectbox(key="c2").set_value(at.selectbox(key="c2").value).run()
    at.selectbox(key="sample").set_value("chelsea").run()
    first_two = [option.split(" (")[0] for option in at.selectbox(key="c1").options][:2]
    shown = [at.selectbox(key=k).format_func(at.selectbox(key=k).value).split(" (")[0] for k in ("c1", "c2")]
    assert shown == first_two, (shown, first_two, names)
    jump = next(b for b in at.button if b.key == "uncertain_0")
    image_name, _, rest = jump.label.partition(": ")
    named = rest.split(" (margin")[0].split(" vs ")
    jump.click().run()
    assert not at.exception
    assert dict(at.query_params)["image"] in (f"data:cifar10/test/{image_name}", [f"data:cifar10/test/{image_name}"])
    shown = [at.selectbox(key=k).format_func(at.selectbox(key=k).value).split(" (")[0] for k in ("c1", "c2")]
    assert shown == named


def test_the_image_number_shown_is_the_images_own(cifar_root) -> None:
    at = _open(image="data:cifar10/test/cat/0005.jpg")
    assert at.selectbox(key="data_class").value == 3 and at.number_input(key="data_pos").value == 5
    for position in (6, 7, 12):
        at.number_input(key="data_pos").set_value(position).run()
        assert not at.exception and at.number_input(key="data_pos").value == position
        expected = f"data:cifar10/test/cat/{position:04d}.jpg"
        assert dict(at.query_params)["image"] in (expected, [expected])
    at.button(key="misclassified").click().run()
    image = dict(at.query_params)["image"]
    image = image[0] if isinstance(image, list) else image
    class_name, number = image.removeprefix("data:cifar10/test/").split("/")
    shown_class = at.selectbox(key="data_class")
    assert shown_class.format_func(shown_class.value) == class_name and at.number_input(key="data_pos").value == int(number[:4])


def test_a_failing_page_shows_a_short_message_and_logs_the_traceback(monkeypatch, caplog) -> None:
    import streamlit as st

    import bcos_core

    st.cache_data.clear()
    monkeypatch.setattr(bcos_core, "explain_classes", lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("secret /server/path")))
    at = AppTest.from_file(ENTRY, default_timeout=180)
    at.query_params["image"] = "sample:camera"
    with caplog.at_level("ERROR", logger="bcos_explorer"):
        at.run()
    assert not at.exception  # no traceback element
    message = at.error[0].value
    assert "Something went wrong" in message and "RuntimeError" in message and "/server/path" not in message
    assert "secret /server/path" in caplog.text  # …but the operator's log has it
    st.cache_data.clear()
