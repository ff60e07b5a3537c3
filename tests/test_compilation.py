"""When evaluation runs under torch.compile, and that the compiled pass gives the eager results."""

from __future__ import annotations

import pytest
import torch

from bcos_core.compilation import AUTO_COMPILE_FROM_IMAGES, compiled_if_worthwhile
from bcos_core.metrics import predict_logits
from bcos_core.zoo import random_model


def test_auto_compiles_only_passes_long_enough_to_pay_for_it() -> None:
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x + 1

    assert compiled_if_worthwhile(forward, "auto", AUTO_COMPILE_FROM_IMAGES - 1) is forward
    assert compiled_if_worthwhile(forward, "off", 10 * AUTO_COMPILE_FROM_IMAGES) is forward
    for choice, images in (("auto", AUTO_COMPILE_FROM_IMAGES), ("on", 1)):
        compiled = compiled_if_worthwhile(forward, choice, images)
        assert compiled is not forward and torch.equal(compiled(torch.zeros(2)), torch.ones(2))
    with pytest.raises(ValueError, match="compile must be one of auto, on, off"):
        compiled_if_worthwhile(forward, "yes", 1)


def test_compiled_evaluation_equals_eager_and_leaves_the_model_alone() -> None:
    model = random_model("bcos_fastnet_cifar10", seed=1, widths=(8, 8, 16, 16)).eval()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    images = torch.randint(0, 256, (7, 3, 32, 32), dtype=torch.uint8)
    eager = predict_logits(model, images, batch_size=3)
    compiled = predict_logits(model, images, batch_size=3, compile="on")  # batches of 3, 3 and 1
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-6)
    assert all(torch.equal(value, before[name]) for name, value in model.state_dict().items())
