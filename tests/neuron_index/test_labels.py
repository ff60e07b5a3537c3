"""Concept labels: naming, search, export and import, and refusal of another model's labels."""

from __future__ import annotations

import pytest

from bcos_core.neuron_index import ConceptLabels, labels_path


def test_labels_round_trip_search_and_import(tmp_path) -> None:
    path = labels_path(tmp_path / "m.cifar10-test.safetensors")
    assert path.name == "m.cifar10-test.labels.json"
    labels = ConceptLabels.load(path, "fp1")
    labels.set("block2.conv1", 7, "  wheel\nof a car ")
    labels.set("block3.conv2", 12, "horse head")
    labels.set("block3.conv2", 13, "x" * 200)
    labels.save(path)
    again = ConceptLabels.load(path, "fp1")
    assert again.get("block2.conv1", 7) == "wheel of a car" and len(again.get("block3.conv2", 13)) == 80
    assert again.search("WHEEL") == [("block2.conv1", 7, "wheel of a car")]
    assert [hit[1] for hit in again.search("", layer="block3.conv2")] == [12, 13]
    again.set("block3.conv2", 13, "")
    assert again.get("block3.conv2", 13) == ""
    other = ConceptLabels("fp1", {"block2.conv1:7": "tyre", "stem:0": "red"})
    assert again.merge(other) == 2 and again.get("block2.conv1", 7) == "tyre"
    imported = ConceptLabels.from_json(again.to_json(), "fp1")
    assert imported.labels == again.labels


def test_bad_or_foreign_label_files_are_refused() -> None:
    good = ConceptLabels("fp1", {"stem:0": "red"}).to_json()
    with pytest.raises(ValueError, match="another model"):
        ConceptLabels.from_json(good, "fp2")
    with pytest.raises(ValueError, match="not a concept-label file"):
        ConceptLabels.from_json(b"\xff\xfe", "fp1")
    with pytest.raises(ValueError, match="not a concept-label file"):
        ConceptLabels.from_json('{"labels": {}}', "fp1")
    with pytest.raises(ValueError, match="bad neuron key"):
        ConceptLabels.from_json(good.replace("stem:0", "stem"), "fp1")
