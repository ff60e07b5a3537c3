"""A B-cos ViT's attention pattern: equal to the mixing matrix its attention module applies (checked by recomputing the
module's output from it), rows summing to 1, and refused for modules without attention."""

from __future__ import annotations

import pytest
import torch

from bcos_core.attention import attention_blocks, attention_pattern
from bcos_core.layers import forward_to, running_statistics
from bcos_core.zoo import random_model


def test_the_pattern_is_the_mixing_matrix_the_block_applies() -> None:
    model = random_model("bcos_vitc_ti_patch1_14")
    image = torch.rand(3, 56, 56)
    x = torch.cat([image, 1 - image])
    blocks = attention_blocks(model)
    assert blocks[0] == "transformer.encoder_0.attn" and len(blocks) == 11
    pattern = attention_pattern(model, x, "transformer.encoder_2.attn")
    assert pattern.shape == (3, 16, 16) and torch.allclose(pattern.sum(-1), torch.ones(3, 16))
    attention = dict(model.named_modules())["transformer.encoder_2.attn"]
    with torch.no_grad(), running_statistics(model):
        outputs = forward_to(model, x[None], ["transformer.encoder_2.attn.norm", "transformer.encoder_2.attn.to_out"])
        _, _, v = (
            t.unflatten(-1, (3, -1)).transpose(1, 2) for t in attention.to_qkv(outputs["transformer.encoder_2.attn.norm"]).chunk(3, -1)
        )
        mixed = (pattern[None] @ v).transpose(1, 2).flatten(2)
        assert torch.allclose(attention.to_out(mixed), outputs["transformer.encoder_2.attn.to_out"], rtol=1e-4, atol=1e-6)


def test_a_cnn_has_no_attention() -> None:
    model = random_model("bcos_fastnet_cifar10")
    assert attention_blocks(model) == []
    with pytest.raises(ValueError, match="no attention module"):
        attention_pattern(model, torch.rand(6, 32, 32), "block1.conv1")
