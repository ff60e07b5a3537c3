"""Attention patterns of a B-cos ViT, for showing next to exact explanations (an attention map is not an explanation:
in explanation mode it is one of the constant mixing matrices of W(x); the contribution map is the explanation)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .explain import _as_single_image
from .layers import forward_to, running_statistics


def attention_blocks(model: nn.Module) -> list[str]:
    """Names of the modules with an attention pattern (a ViT's ``…attn``), in forward order; empty for CNNs."""
    return [name for name, module in model.named_modules() if hasattr(module, "to_qkv") and hasattr(module, "heads")]


def attention_pattern(model: nn.Module, image: Tensor, block: str) -> Tensor:
    """(heads, tokens, tokens) softmax(q kᵀ / √d) of the attention module ``block`` for one encoded image: row t is where
    token t reads from. The forward pass stops at the block's input norm; per-call state only (no hooks)."""
    return attention_patterns(model, image, [block])[block]


def attention_patterns(model: nn.Module, image: Tensor, blocks: list[str] | None = None) -> dict[str, Tensor]:
    """:func:`attention_pattern` of several attention modules (default: all) from one forward pass, in forward order."""
    known = attention_blocks(model)
    blocks = known if blocks is None else blocks
    unknown = [block for block in blocks if block not in known]
    if unknown or not blocks:
        raise ValueError(f"{unknown or blocks!r}: no attention module; the model has {', '.join(known) or 'none'}")
    modules = dict(model.named_modules())
    x = _as_single_image(image)[None]
    with torch.no_grad(), running_statistics(model):
        normed = forward_to(model, x, [f"{block}.norm" for block in blocks])
        patterns = {}
        for block in blocks:
            attention = modules[block]
            qkv = attention.to_qkv(normed[f"{block}.norm"]).chunk(3, dim=-1)
            q, k, _ = (t.unflatten(-1, (attention.heads, -1)).transpose(1, 2) for t in qkv)
            patterns[block] = (q @ k.transpose(-1, -2) * attention.scale).softmax(dim=-1)[0]
        return patterns


def attention_rollout(model: nn.Module, image: Tensor) -> Tensor:
    """Attention rollout (Abnar & Zuidema, 2020) as an (H, W) map over the image: per block the head-averaged pattern
    with the residual path as identity, (A + I) / 2, multiplied through the blocks; a token's relevance is its mean
    weight over the output tokens (the B-cos ViTs mean-pool their tokens), bilinearly upsampled from the token grid.
    A post-hoc, class-agnostic comparison for the pointing game, not an explanation."""
    patterns = attention_patterns(model, image)
    tokens = next(iter(patterns.values())).shape[-1]
    side = math.isqrt(tokens)
    if side * side != tokens:
        raise ValueError(f"{tokens} tokens do not form a square grid")
    rollout = torch.eye(tokens)
    for pattern in patterns.values():
        rollout = (0.5 * pattern.mean(0) + 0.5 * torch.eye(tokens)) @ rollout
    relevance = rollout.mean(0).view(1, 1, side, side)
    return F.interpolate(relevance, size=tuple(image.shape[-2:]), mode="bilinear", align_corners=False)[0, 0]
