"""Rendering explanations as arrays (no plotting library needed): the paper's RGBA image and diverging maps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

# Diverging palettes as (position, RGB) stops from the negative to the positive end.
PALETTES: dict[str, list[tuple[float, tuple[int, int, int]]]] = {
    # matplotlib's "bwr": blue for negative, red for positive evidence (the paper's contribution maps)
    "bwr": [(0.0, (0, 0, 255)), (0.5, (255, 255, 255)), (1.0, (255, 0, 0))],
    # Δ-explanations: orange for class 1 (positive), blue for class 2 (negative); colour-blind safe
    "delta": [(0.0, (8, 81, 156)), (0.25, (107, 174, 214)), (0.5, (255, 255, 255)), (0.75, (253, 141, 60)), (1.0, (166, 54, 3))],
}


def explanation_to_rgba(image: Tensor, linear_map: Tensor, smooth: int = 15, alpha_percentile: float = 99.5) -> np.ndarray:
    """The paper's RGBA explanation (equal to ``bcos.gradient_to_image``): (H, W, 4) floats in [0, 1].

    Colour is the direction of W(x) decoded from the (c, 1−c) channel pairs; alpha is ‖W(x)‖ where the pixel's
    contribution is positive, smoothed with an odd ``smooth`` × ``smooth`` box and clipped at a percentile.
    """
    image, linear_map = image.detach().float(), linear_map.detach().float()
    return rgba_from_map(linear_map, (image * linear_map).sum(0), smooth, alpha_percentile)


def rgba_from_map(linear_map: Tensor, contributions: Tensor, smooth: int = 15, alpha_percentile: float = 99.5) -> np.ndarray:
    """:func:`explanation_to_rgba` from the linear map and its (H, W) contributions (all it needs of the image), so an
    app can keep an explanation once and redraw it at any smoothing and percentile without the model."""
    if smooth and smooth % 2 == 0:
        raise ValueError(f"smooth must be odd (or 0 to disable), got {smooth}: an even box shifts the map by half a pixel")
    if linear_map.shape[0] != 6:
        raise ValueError(f"the RGBA recipe needs the 6-channel encoding, got {linear_map.shape[0]} channels")
    linear_map, contributions = linear_map.detach().float(), contributions.detach()[None]
    direction = (linear_map / (linear_map.abs().amax(0, keepdim=True) + 1e-12)).clamp(min=0)
    rgb = direction[:3] / (direction[:3] + direction[3:] + 1e-12)
    alpha = torch.linalg.vector_norm(linear_map, dim=0, keepdim=True)
    alpha = torch.where(contributions < 0, torch.full_like(alpha, 1e-12), alpha)
    if smooth:
        alpha = F.avg_pool2d(alpha, smooth, stride=1, padding=(smooth - 1) // 2)
    alpha = (alpha / torch.quantile(alpha, alpha_percentile / 100)).clip(0, 1)
    return torch.cat([rgb, alpha]).permute(1, 2, 0).numpy()


def symmetric_limit(maps: Sequence[Tensor | np.ndarray], percentile: float = 99.5) -> float:
    """One limit for several maps: the ``percentile`` of |values| over all of them (never 0)."""
    values = np.concatenate([np.abs(np.asarray(m, dtype=np.float64)).ravel() for m in maps])
    limit = float(np.percentile(values, percentile)) if values.size else 0.0
    return limit if limit > 0 else float(values.max(initial=0.0)) or 1.0


def diverging_rgb(values: Tensor | np.ndarray, limit: float | None = None, palette: str = "bwr", percentile: float = 99.5) -> np.ndarray:
    """Map values to (H, W, 3) uint8 colours on a diverging palette with symmetric limits [−limit, limit]."""
    values = np.asarray(values, dtype=np.float64)
    limit = symmetric_limit([values], percentile) if limit is None else limit
    position = np.clip(values / (2 * limit) + 0.5, 0, 1)
    stops = PALETTES[palette]
    xs = [s for s, _ in stops]
    channels = [np.interp(position, xs, [c[i] for _, c in stops]) for i in range(3)]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


BACKGROUNDS: dict[str, tuple[float, float, float]] = {"black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0)}  # the paper draws on black


def rgba_over_background(rgba: np.ndarray, background: str | tuple[float, float, float] = "black") -> np.ndarray:
    """Composite an RGBA explanation (floats in [0, 1]) over a solid colour → (H, W, 3) uint8: what a person sees.

    ``background`` is a name from :data:`BACKGROUNDS` or an RGB triple in [0, 1].
    """
    if isinstance(background, str):
        if background not in BACKGROUNDS:
            raise ValueError(f"unknown background {background!r}; choose one of {sorted(BACKGROUNDS)} or give an RGB triple")
        background = BACKGROUNDS[background]
    rgba = np.clip(np.asarray(rgba, dtype=np.float64), 0, 1)
    alpha = rgba[..., 3:4]
    rgb = rgba[..., :3] * alpha + np.asarray(background) * (1 - alpha)
    return (rgb * 255).round().clip(0, 255).astype(np.uint8)


def repeat_pixels(image: np.ndarray, factor: int) -> np.ndarray:
    """Enlarge an (H, W, …) image by a whole ``factor``, each pixel becoming a factor × factor block (nearest neighbour)."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def upscale_nearest(image: np.ndarray, min_size: int = 256) -> np.ndarray:
    """Enlarge an (H, W, …) image by the smallest whole factor that makes both sides ≥ ``min_size``, repeating pixels
    (nearest neighbour), so that a 32 px explanation stays sharp wherever a viewer scales images smoothly."""
    return repeat_pixels(image, max(1, -(-min_size // min(image.shape[:2]))))
