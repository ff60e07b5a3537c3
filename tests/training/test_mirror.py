"""training.mirror: a trained model's mirror-averaging copy loads with the same weights and averages over mirroring."""

from __future__ import annotations

import pytest
import torch

from bcos_core.checkpoints import ModelMetadata, read_metadata, save_model
from bcos_core.zoo import load_model, random_model
from training.mirror import main, write_mirrored


def _saved(tmp_path, arch: str, kwargs: dict):
    model = random_model(arch, **kwargs)
    metadata = ModelMetadata(
        arch=arch,
        arch_kwargs=kwargs,
        class_names=[f"c{i}" for i in range(10)],
        dataset="cifar10",
        input_size=32,
        logit_bias=model.logit_bias,
        metrics={"test_accuracy": 0.5, "localisation": 0.7},
    )
    return model, save_model(model, tmp_path / "plain", metadata)


def test_the_copy_averages_the_original_over_mirror_images(tmp_path) -> None:
    plain, path = _saved(tmp_path, "bcos_fastnet_cifar10", {"b": 2.0, "widths": [8, 8, 16, 16]})
    written = write_mirrored(path, tmp_path / "mirrored")
    assert read_metadata(written).metrics == {"single_pass_test_accuracy": 0.5}  # the rest was the single pass's
    mirrored = load_model(written).model
    x = torch.rand(2, 6, 32, 32)
    with torch.no_grad():
        evidence = [plain.class_evidence(plain.forward_features(view)) for view in (x, x.flip(-1))]
        expected = plain.logit_layer((evidence[0] + evidence[1]) / 2)
        actual = mirrored(x)
    scale = float(expected.abs().max())
    torch.testing.assert_close(actual / scale, expected / scale, atol=1e-5, rtol=1e-4)
    assert main([str(written), str(tmp_path / "twice")]) == 2  # already mirrored


def test_architectures_without_the_option_are_refused(tmp_path, capsys) -> None:
    _, path = _saved(tmp_path, "bcos_resnet20_cifar10", {"b": 2.0})
    with pytest.raises(ValueError, match="cannot average over mirror images"):
        write_mirrored(path, tmp_path / "mirrored")
    assert main([str(path), str(tmp_path / "mirrored")]) == 2 and "cannot average" in capsys.readouterr().err
    assert not (tmp_path / "mirrored.safetensors").exists()
