"""The neuron index builder: top-k and statistics equal brute force; shards merge exactly; builds resume."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bcos_core.datasets import dataset_fingerprint, list_image_folder
from bcos_core.layers import explorable_layers
from bcos_core.neuron_index import (
    HISTOGRAM_EDGES,
    NeuronIndexError,
    StaleIndexError,
    build_index,
    find_indexes,
    load_index,
    merge_indexes,
    model_fingerprint,
    shard_path,
    shard_range,
)
from bcos_core.neuron_index.__main__ import main as cli
from bcos_core.zoo import random_model

from .conftest import CLASSES

K = 5
ROOT = Path(__file__).resolve().parents[2]


def _all_activations(model, root, preprocess, layers) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Every layer's full activation maps for every image (what the builder must not keep), and labels."""
    _, samples = list_image_folder(root)
    images = torch.cat([preprocess(Image.open(path)) for path, _ in samples])
    modules, outputs = dict(model.named_modules()), {}
    handles = [modules[name].register_forward_hook(lambda m, i, o, name=name: outputs.__setitem__(name, o.detach())) for name in layers]
    with torch.no_grad():
        model(images)
    for handle in handles:
        handle.remove()
    return outputs, torch.tensor([label for _, label in samples])


def test_top_k_and_statistics_equal_brute_force(small_model, image_folder, preprocess) -> None:
    layers = explorable_layers(small_model)
    index = build_index(small_model, "small", image_folder, preprocess, k=K, batch_size=4, num_workers=0, progress=False)
    outputs, labels = _all_activations(small_model, image_folder, preprocess, layers)
    assert list(index.layers) == layers and index.complete
    for name in layers:
        flat = outputs[name].flatten(2)  # (N, C, H·W)
        maxima, positions = flat.max(2)
        stats = index.layers[name]
        assert stats.map_size == tuple(outputs[name].shape[2:])
        for channel in range(flat.shape[1]):
            order = sorted(range(len(maxima)), key=lambda i: (-float(maxima[i, channel]), i))[:K]
            assert stats.top_images[channel].tolist() == order
            assert torch.equal(stats.top_values[channel], maxima[order, channel])
            assert stats.top_positions[channel].tolist() == positions[order, channel].tolist()
            assert stats.top_labels[channel].tolist() == labels[order].tolist()
        assert torch.allclose(stats.mean_max, maxima.double().mean(0))
        assert torch.allclose(stats.std_max, maxima.double().std(0, unbiased=False), atol=1e-9)
        expected_hist = [
            np.histogram(np.clip(maxima[:, c].double().numpy(), 0, None), bins=[-np.inf, *HISTOGRAM_EDGES.tolist()[:-1], np.inf])[0]
            for c in range(flat.shape[1])
        ]
        assert stats.histogram.tolist() == np.stack(expected_hist).tolist()
        assert stats.class_histogram(3).sum(1).tolist() == [K] * flat.shape[1]


def _assert_same_index(merged, whole, rtol: float = 1e-12) -> None:
    """Equal indexes; float sums up to ``rtol`` (the order of float64 additions, or other processes' thread counts)."""
    for name, stats in whole.layers.items():
        for field, value in stats.tensors(name).items():
            other = merged.layers[name].tensors(name)[field]
            if value.is_floating_point():
                assert torch.allclose(value, other, rtol=rtol, atol=0), field
            else:
                assert torch.equal(value, other), field
        assert merged.layers[name].images_seen == whole.layers[name].images_seen


def test_two_shards_merged_equal_one_pass(small_model, image_folder, preprocess, tmp_path) -> None:
    whole = build_index(small_model, "small", image_folder, preprocess, k=K, batch_size=4, num_workers=0, progress=False)
    parts = [
        build_index(
            small_model,
            "small",
            image_folder,
            preprocess,
            k=K,
            shard=(i, 2),
            batch_size=5,
            out_path=tmp_path / f"p{i}.safetensors",
            num_workers=0,
            progress=False,
        )
        for i in range(2)
    ]
    assert [p.header["image_range"] for p in parts] == [[0, 13], [13, 27]]
    merged = merge_indexes([load_index(tmp_path / "p1.safetensors"), load_index(tmp_path / "p0.safetensors")])
    assert merged.header["image_range"] == [0, 27] and merged.complete
    _assert_same_index(merged, whole)
    with pytest.raises(NeuronIndexError, match="shards 0…1"):
        merge_indexes([parts[0], parts[0]])


def test_a_compiled_build_finds_the_same_images(small_model, image_folder, preprocess) -> None:
    """Under torch.compile (a last batch smaller than the others included) the index keeps the same top images and
    positions; its maxima and statistics differ from eager ones by float rounding only."""
    eager = build_index(small_model, "small", image_folder, preprocess, k=K, batch_size=4, num_workers=0, progress=False)
    compiled = build_index(small_model, "small", image_folder, preprocess, k=K, batch_size=4, num_workers=0, progress=False, compile="on")
    _assert_same_index(compiled, eager, rtol=1e-5)


def test_interrupted_build_resumes_to_the_same_index(small_model, image_folder, preprocess, tmp_path) -> None:
    out = tmp_path / "index.safetensors"
    calls = {"n": 0}

    def crash_on_third_batch(module, inputs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    handle = small_model.register_forward_pre_hook(crash_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        build_index(
            small_model, "small", image_folder, preprocess, k=K, batch_size=4, out_path=out, save_every=1, num_workers=0, progress=False
        )
    handle.remove()
    partial = load_index(out)
    assert partial.header["next_image"] == 8 and not partial.complete
    resumed = build_index(small_model, "small", image_folder, preprocess, k=K, batch_size=4, out_path=out, num_workers=0, progress=False)
    whole = build_index(small_model, "small", image_folder, preprocess, k=K, batch_size=4, num_workers=0, progress=False)
    for name, stats in whole.layers.items():
        assert all(torch.allclose(v, resumed.layers[name].tensors(name)[f], rtol=1e-12, atol=0) for f, v in stats.tensors(name).items())
        assert resumed.layers[name].images_seen == 27


def test_stale_index_is_refused(small_model, image_folder, preprocess, tmp_path) -> None:
    index = build_index(small_model, "small", image_folder, preprocess, k=K, num_workers=0, progress=False)
    index.check_matches(model_fingerprint(small_model), index.header["dataset"]["fingerprint"])
    other = type(small_model)(num_classes=3, widths=(8, 8, 16, 16))
    with pytest.raises(StaleIndexError, match="another model"):
        index.check_matches(model_fingerprint(other))
    changed = tmp_path / "test"
    shutil.copytree(image_folder, changed)
    Image.new("RGB", (32, 32)).save(changed / "ants" / "999.png")
    classes, samples = list_image_folder(changed)
    with pytest.raises(StaleIndexError, match="other images"):
        index.check_matches(data_fp=dataset_fingerprint(changed, classes, samples))


def test_unreadable_files_are_clear_errors(tmp_path) -> None:
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}not json at all")
    with pytest.raises(NeuronIndexError, match="cannot read"):
        load_index(tmp_path / "junk.safetensors")
    with pytest.raises(NeuronIndexError, match="cannot read"):
        load_index(tmp_path / "missing.safetensors")


def test_shard_ranges_cover_the_data_without_overlap() -> None:
    ranges = [shard_range(10, (i, 3)) for i in range(3)]
    assert ranges == [(0, 3), (3, 6), (6, 10)]
    with pytest.raises(ValueError, match="shard"):
        shard_range(10, (3, 3))


def test_cli_builds_in_shards_merges_and_reports(image_folder, tmp_path, capsys) -> None:
    out = tmp_path / "index.safetensors"
    for i in range(2):
        assert (
            cli(["build", "--data", str(image_folder), "--layers", "stem,block1.conv2", "--k", "4", "--shard", f"{i}/2", "--out", str(out)])
            == 0
        )
    parts = [shard_path(out, (i, 2)) for i in range(2)]
    assert all(part.exists() for part in parts) and not out.exists()  # each shard its own file, whatever --out says
    assert cli(["merge", "--out", str(tmp_path / "merged.safetensors"), *map(str, parts)]) == 0
    assert cli(["info", str(tmp_path / "merged.safetensors")]) == 0
    info = capsys.readouterr().out.strip().split("\n", 3)[-1]
    assert '"num_images": 27' in info and '"block1.conv2"' in info
    assert cli(["build", "--data", str(image_folder), "--layers", "nope", "--out", str(tmp_path / "x.safetensors")]) == 2
    assert "no layers ['nope']" in capsys.readouterr().err


def test_exported_image_folder_is_indexable(small_model, preprocess, tmp_path, monkeypatch) -> None:
    from bcos_core.datasets import export_image_folder

    rng = np.random.default_rng(1)
    samples = [(Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)), i % 3) for i in range(12)]
    assert export_image_folder(samples, ["a", "b", "c"], tmp_path / "set" / "test") == 12
    classes, listed = list_image_folder(tmp_path / "set" / "test")
    assert classes == ["a", "b", "c"] and len(listed) == 12
    first = next(p for p, label in listed if label == 0)
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(samples[0][0]))  # lossless
    monkeypatch.setenv("BCOS_DATA_DIR", str(tmp_path))  # the index names its folder inside the data folder
    index = build_index(small_model, "small", tmp_path / "set" / "test", preprocess, k=3, num_workers=0, progress=False)
    assert index.header["dataset"]["folder"] == "set/test" and index.complete


def test_torchrun_builds_one_shard_per_process_and_merges_them(small_model, image_folder, preprocess, tmp_path, monkeypatch) -> None:
    from bcos_core.checkpoints import ModelMetadata, save_model

    model_file = save_model(
        small_model,
        tmp_path / "small",
        ModelMetadata("bcos_fastnet_cifar10", {"widths": [8, 8, 16, 16]}, list(CLASSES), "toyset", 32, small_model.logit_bias),
    )
    monkeypatch.setenv("BCOS_INDEX_DIR", str(tmp_path / "indexes"))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "bcos_core.neuron_index"]
    command += ["build", "--model", str(model_file), "--data", str(image_folder), "--k", str(K), "--batch-size", "4"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    (found,) = find_indexes(str(model_file))  # the merged index only (the shard files were removed), under the reference given
    merged = load_index(found)
    assert merged.complete and merged.header["dataset"]["num_images"] == 27
    single = build_index(small_model, "small", image_folder, preprocess, k=K, batch_size=4, num_workers=0, progress=False)
    _assert_same_index(merged, single, rtol=1e-5)  # torchrun runs one torch thread per process: float32 sums in another order


def test_a_vit_indexes_its_tokens_as_a_grid(image_folder, preprocess) -> None:
    """A ViT's block outputs (N, tokens, C) are indexed as C maps over the 8 × 8 token grid: top images and the clicked
    token position equal brute force over the block outputs."""
    vit = random_model("bcos_vitc_cifar10", seed=1, num_classes=3, dim=24, depth=2, heads=2, mlp_dim=32, conv_stem=(8, 16, 16))
    layers = [name for name in explorable_layers(vit) if name.startswith("transformer.")]
    assert layers, explorable_layers(vit)
    index = build_index(vit, "vit", image_folder, preprocess, k=K, batch_size=4, num_workers=0, progress=False, layers=layers)
    outputs, _ = _all_activations(vit, image_folder, preprocess, layers)
    for name in layers:
        tokens = outputs[name]  # (N, 64, C) from the module itself
        assert tokens.dim() == 3 and tokens.shape[1] == 64
        maxima, positions = tokens.max(1)  # over token positions, row-major like the 8 × 8 grid
        stats = index.layers[name]
        assert stats.map_size == (8, 8)
        for channel in range(tokens.shape[2]):
            order = sorted(range(len(maxima)), key=lambda i: (-float(maxima[i, channel]), i))[:K]
            assert stats.top_images[channel].tolist() == order
            assert stats.top_positions[channel].tolist() == positions[order, channel].tolist()
