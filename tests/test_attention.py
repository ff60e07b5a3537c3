"""A B-cos ViT's attention pattern: equal to the mixing matrix its attention module applies (checked by recomputing the
module's output from it), rows summing to 1, and refused for modules without attention."""

from __future__ import annotations

import pytest
import torch

from bcos_core.attention import attention_blocks, attention_pattern, attention_patterns, attention_rollout
from bcos_core.attribution import ATTENTION_ROLLOUT, BCOS, GRAD_CAM, attribution_method, available_methods
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


def test_rollout_multiplies_the_head_averaged_patterns_with_the_residual_identity() -> None:
    model = random_model("bcos_vitc_ti_patch1_14")
    image = torch.rand(3, 56, 56)
    x = torch.cat([image, 1 - image])
    blocks = attention_blocks(model)
    together = attention_patterns(model, x)
    assert list(together) == blocks
    rollout = torch.eye(16)
    for block in blocks:  # one forward pass per block: an independent path to the same patterns
        alone = attention_pattern(model, x, block)
        assert torch.allclose(together[block], alone, atol=1e-6)
        rollout = (alone.mean(0) + torch.eye(16)) / 2 @ rollout
    relevance = rollout.mean(0).view(4, 4)
    assert float(relevance.sum()) == pytest.approx(1.0, abs=1e-5)  # every rolled-out row is a distribution
    heat = attention_rollout(model, x)
    assert heat.shape == (56, 56)
    # bilinear ×14: the two pixels either side of a token's centre average to the token's value
    centres = heat[6::14, 6::14] / 2 + heat[7::14, 7::14] / 2
    assert torch.allclose(centres, relevance, rtol=1e-2)


def test_rollout_is_a_pointing_game_method_for_transformers_only() -> None:
    vit, cnn = random_model("bcos_vitc_ti_patch1_14"), random_model("bcos_fastnet_cifar10")
    assert ATTENTION_ROLLOUT in available_methods(vit) and GRAD_CAM not in available_methods(vit)
    assert ATTENTION_ROLLOUT not in available_methods(cnn) and GRAD_CAM in available_methods(cnn)
    image = torch.rand(3, 56, 56)
    maps = attribution_method(ATTENTION_ROLLOUT, vit)(torch.cat([image, 1 - image]), [3, 5])
    assert maps.shape == (2, 56, 56) and torch.equal(maps[0], maps[1])  # class-agnostic
    exact = attribution_method(BCOS, vit)(torch.cat([image, 1 - image]), [3, 5])
    assert not torch.allclose(exact[0], exact[1])  # the contributions are not
