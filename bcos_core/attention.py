"""Attention patterns of a B-cos ViT, for showing next to exact explanations (an attention map is not an explanation:
in explanation mode it is one of the constant mixing matrices of W(x); the contribution map is the explanation)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .explain import _as_single_image
from .layers import forward_to, running_statistics


def attention_blocks(model: nn.Module) -> list[str]:
    """Names of the modules with an attention pattern (a ViT's ``…attn``), in forward order; empty for CNNs."""
    return [name for name, module in model.named_modules() if hasattr(module, "to_qkv") and hasattr(module, "heads")]


def attention_pattern(model: nn.Module, image: Tensor, block: str) -> Tensor:
    """(heads, tokens, tokens) softmax(q kᵀ / √d) of the attention module ``block`` for one encoded image: row t is where
    token t reads from. The forward pass stops at the block's input norm; per-call state only (no hooks)."""
    attention = dict(model.named_modules()).get(block)
    if attention is None or block not in attention_blocks(model):
        raise ValueError(f"{block!r} is no attention module; the model has {', '.join(attention_blocks(model)) or 'none'}")
    x = _as_single_image(image)[None]
    with torch.no_grad(), running_statistics(model):
        normed = forward_to(model, x, [f"{block}.norm"])[f"{block}.norm"]
        q, k, _ = (t.unflatten(-1, (attention.heads, -1)).transpose(1, 2) for t in attention.to_qkv(normed).chunk(3, dim=-1))
        return (q @ k.transpose(-1, -2) * attention.scale).softmax(dim=-1)[0]
