"""The "what feeds this" panel under AppTest: exact channel contributions on the class and gallery pages, the deep-linked
layer, links to the contributing neurons' gallery pages and back."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import bcos_core
from app.images import load_image
from bcos_core.circuits import Neuron, explain_channels
from bcos_core.preprocessing import encode_crop

from .apptest import open_page


def _open(page: str | None = None, **params: str) -> AppTest:
    return open_page(page, timeout=240, **params)


def _readout(at: AppTest) -> tuple[float, float, float]:
    """(explained total, the model's value, relative error) from the panel's readout line."""
    text = next(m.value for m in at.markdown if "Σ over" in m.value)
    total = float(re.search(r"= \*\*(-?[\d.]+)\*\*", text).group(1))
    model, error = re.search(r"model: (-?[\d.]+), relative error ([\d.e+-]+)", text).groups()
    return total, float(model), float(error)


def _bars(at: AppTest) -> dict[str, float]:
    import json

    chart = next(c for c in at.get("plotly_chart") if c.proto.id and "feed_bars" in c.proto.id)
    data = json.loads(chart.proto.spec)["data"][0]
    return dict(zip(data["y"], data["x"]))


def _encoded(image_id: str):
    loaded = bcos_core.load_model()
    from PIL import Image

    return loaded, encode_crop(loaded.preprocess.to_array(Image.fromarray(load_image(image_id))))


def test_the_class_page_shows_the_exact_channel_contributions_of_the_deep_linked_layer() -> None:
    at = _open(image="sample:astronaut", cls="0", feed_layer="block2.conv2")
    assert at.selectbox(key="feed_layer").value == "block2.conv2"
    total, model, error = _readout(at)
    assert total == pytest.approx(model, abs=2e-5) and error < 1e-4
    loaded, x = _encoded("sample:astronaut")
    expected = explain_channels(loaded.model, x, "block2.conv2", 0).channel_totals.numpy()
    assert model == pytest.approx(float(bcos_core.class_logits(loaded.model, x)[0]), abs=1e-4)
    bars = _bars(at)
    assert len(bars) == 16
    for name, value in bars.items():  # "#12" or "#12 “label”"
        channel = int(name.split()[0].lstrip("#"))
        assert value == pytest.approx(float(expected[channel]), rel=1e-4, abs=1e-6)
    assert max(abs(v) for v in bars.values()) == pytest.approx(float(np.abs(expected).max()), rel=1e-4)
    at.selectbox(key="feed_layer").set_value("block3.conv2").run()
    assert not at.exception and dict(at.query_params)["feed_layer"] in ("block3.conv2", ["block3.conv2"])
    assert _readout(at)[2] < 1e-4


def test_the_gallery_neuron_page_explains_the_neuron_by_lower_channels_and_links_to_them(cifar_root) -> None:
    at = _open("app_pages/neuron_gallery.py", image="sample:chelsea", g_layer="block3.conv1", neuron="5")
    total, model, error = _readout(at)
    assert error < 1e-4 and total == pytest.approx(model, abs=2e-5)
    loaded, x = _encoded("sample:chelsea")
    neuron = bcos_core.explain_neuron(loaded.model, x, "block3.conv1", 5)
    assert model == pytest.approx(neuron.logit, rel=1e-4)
    expected = explain_channels(loaded.model, x, "block2.conv2", Neuron("block3.conv1", 5)).channel_totals
    assert at.selectbox(key="feed_layer").value == "block2.conv2"
    for name, value in _bars(at).items():
        assert value == pytest.approx(float(expected[int(name.split()[0].lstrip("#"))]), rel=1e-4, abs=1e-6)
    links = [link.proto for link in at.get("page_link")]
    to_lower = [link for link in links if "g_layer=block2.conv2" in link.page or "block2.conv2" in str(link.query_string)]
    assert to_lower, [str(link) for link in links][:3]
    assert any("explain_classes" in link.page or "Back to the class explanation" in link.label for link in links)
    assert any(c.proto.id and "composition_bars" in c.proto.id for c in at.get("plotly_chart"))


def test_the_circuit_graph_is_off_by_default_and_shows_the_librarys_circuit_when_asked() -> None:
    at = _open(image="sample:astronaut", cls="4")
    assert at.toggle(key="graph").value is False
    assert not [c for c in at.get("plotly_chart") if "circuit_graph" in c.proto.id]
    at.toggle(key="graph").set_value(True).run()
    assert not at.exception and dict(at.query_params)["graph"] in ("1", ["1"])
    import json

    from bcos_core.circuits import explain_circuit

    chart = next(c for c in at.get("plotly_chart") if "circuit_graph" in c.proto.id)
    nodes = json.loads(chart.proto.spec)["data"][-1]  # the node trace comes last, the target last in it
    loaded, x = _encoded("sample:astronaut")
    circuit = explain_circuit(loaded.model, x, 4, ["block3.conv2", "block3.conv1", "block2.conv2"], top_k=6)
    expected = [n.contribution for layer in circuit.layers for n in circuit.nodes[layer]] + [circuit.value]
    assert [row[0] for row in nodes["customdata"]] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert len(chart_edges := json.loads(chart.proto.spec)["data"][:-1]) == 6 + 2 * 36 and all(e["mode"] == "lines" for e in chart_edges)
