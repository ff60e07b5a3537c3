"""The grid pointing game (B-cos v2 procedure): how much of a map's positive mass falls on the right tile.

1. Keep correctly classified images, per class sorted by logit (descending); a class is eligible while its next
   unused image is confidently classified (sigmoid(logit) > threshold).
2. With NumPy seed 42, repeatedly draw n distinct eligible classes and take each one's next most confident image;
   the n images form a √n × √n grid (tile k = i·√n + j sits in column i, row j).
3. For each tile's class, take the attribution map of the grid summed over channels, smooth it (box filter),
   *then* clamp at 0, and score = positive mass inside that tile / total positive mass (0 when there is none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

# (grid of shape (C, H, W), the n tile classes) → (n, H, W) maps, one per tile class
AttributionFn = Callable[[Tensor, list[int]], Tensor]


@dataclass(frozen=True)
class Grid:
    """One pointing-game grid: the images (indices into the evaluated set) and their classes, in tile order."""

    images: tuple[int, ...]
    classes: tuple[int, ...]


def confident_images(logits: Tensor, labels: Tensor, threshold: float = 0.5) -> dict[int, list[int]]:
    """Per class, its correctly classified images with sigmoid(logit) > threshold, most confident first."""
    predicted = logits.argmax(1)
    own = logits[torch.arange(len(labels)), labels]
    per_class: dict[int, list[int]] = {}
    for c in range(logits.shape[1]):
        keep = ((labels == c) & (predicted == c) & (torch.sigmoid(own) > threshold)).nonzero().flatten()
        order = own[keep].argsort(descending=True, stable=True)
        per_class[c] = keep[order].tolist()
    return per_class


def sample_grids(per_class: dict[int, list[int]], num_grids: int, tiles: int = 9, seed: int = 42) -> list[Grid]:
    """Up to ``num_grids`` grids of ``tiles`` distinct classes, each image used once (stops when fewer than
    ``tiles`` classes have images left)."""
    if math.isqrt(tiles) ** 2 != tiles:
        raise ValueError(f"a grid needs a square number of tiles, got {tiles}")
    rng = np.random.RandomState(seed)
    next_image = {c: 0 for c in per_class}
    grids = []
    while len(grids) < num_grids:
        eligible = sorted(c for c, images in per_class.items() if next_image[c] < len(images))
        if len(eligible) < tiles:
            break
        classes = [int(c) for c in rng.choice(eligible, tiles, replace=False)]
        images = []
        for c in classes:
            images.append(per_class[c][next_image[c]])
            next_image[c] += 1
        grids.append(Grid(tuple(images), tuple(classes)))
    return grids


def compose_grid(images: Tensor) -> Tensor:
    """(n, C, h, w) tiles → (C, √n·h, √n·w) grid; tile k = i·√n + j goes to column i, row j."""
    side = math.isqrt(len(images))
    n, channels, h, w = images.shape
    # (i, j, C, h, w) → (C, j·h, i·w): rows are j, columns are i
    return images.view(side, side, channels, h, w).permute(2, 1, 3, 0, 4).reshape(channels, side * h, side * w)


def grid_recall(grid_logits: Tensor, grids: list[Grid]) -> Tensor:
    """Per grid, the fraction of its tile classes among the model's top-n logits for the whole composed grid (n tiles):
    whether the model sees the tiles' classes at all at grid size. A model blind to the grid averages n / classes."""
    if not grids:
        return torch.empty(0)
    top = grid_logits.topk(len(grids[0].classes), dim=1).indices.tolist()
    return torch.tensor([len(set(row) & set(g.classes)) / len(g.classes) for row, g in zip(top, grids)])


def scores_by_class(grids: list[Grid], scores: Tensor) -> dict[int, tuple[float, int]]:
    """Per tile class, the mean score of its tiles and how many there were: which classes a model localises badly.
    ``scores`` are :func:`play`'s (len(grids), n) scores of these grids."""
    classes = torch.tensor([g.classes for g in grids]).flatten()
    flat = scores.flatten().double()
    return {int(c): (float(flat[classes == c].mean()), int((classes == c).sum())) for c in classes.unique()}


def tile_mass_shares(maps: Tensor, tiles: int, smooth: int = 1) -> Tensor:
    """How each map's positive mass splits over the tiles: (n, H, W) maps, map k for tile k's class → (n, n) shares, row k
    over the tiles in tile order (all 0 where a map has no positive mass). The diagonal is the pointing-game score."""
    side = math.isqrt(tiles)
    maps = maps.double()[:, None]
    if smooth > 1:
        maps = F.avg_pool2d(maps, smooth, stride=1, padding=(smooth - 1) // 2, count_include_pad=True)
    maps = maps.clamp(min=0)
    tile_h, tile_w = maps.shape[-2] // side, maps.shape[-1] // side
    cells = F.avg_pool2d(maps, (tile_h, tile_w), stride=(tile_h, tile_w))[:, 0]  # (n, rows j, columns i)
    cell_mass = cells.transpose(1, 2).reshape(len(maps), -1)  # flattened as i·√n + j, the tile order
    total = cell_mass.sum(1, keepdim=True)
    return torch.where(total > 0, cell_mass / total.clamp(min=1e-300), torch.zeros_like(cell_mass))


def own_scores(shares: Tensor) -> Tensor:
    """Pointing-game scores from (…, n, n) mass shares: each map's share on its own tile, (…, n)."""
    return shares.diagonal(dim1=-2, dim2=-1).float()


def mass_between_classes(grids: list[Grid], shares: Tensor, num_classes: int) -> Tensor:
    """(C, C) matrix: entry (c, d) is the mean share of a class-c tile's map that lands on the class-d tile of its grid,
    over the class-c tiles of the grids that have a class-d tile (NaN where none has); the diagonal is each class's mean
    score. Off the diagonal, a uniform map gives 1/n: which other objects a class's maps mistake for it.
    ``shares`` are :func:`play_shares`' (len(grids), n, n) shares of these grids."""
    one_hot = F.one_hot(torch.tensor([g.classes for g in grids]), num_classes).double()  # (G, n, C)
    landed = torch.einsum("gkt,gkc,gtd->cd", shares.double(), one_hot, one_hot)
    pairs = torch.einsum("gkc,gtd->cd", one_hot, one_hot)
    return torch.where(pairs > 0, landed / pairs.clamp(min=1), torch.full_like(landed, float("nan")))


def tile_scores(maps: Tensor, tiles: int, smooth: int = 1) -> Tensor:
    """Pointing-game score of each tile: (n, H, W) maps, map k for tile k's class → (n,) scores in [0, 1]."""
    return own_scores(tile_mass_shares(maps, tiles, smooth))


def tile_distances(tiles: int) -> Tensor:
    """(n, n) Chebyshev distances between tile positions on the √n × √n grid: 0 the tile itself, 1 a tile touching it
    (by an edge or a corner), 2 or more farther away."""
    side = math.isqrt(tiles)
    column, row = torch.arange(tiles) // side, torch.arange(tiles) % side
    return torch.maximum((column[:, None] - column).abs(), (row[:, None] - row).abs())


def mass_by_distance(shares: Tensor) -> dict[str, float]:
    """Mean share of a map's positive mass on its own tile, on the tiles touching it and on tiles farther away, from
    (…, n, n) shares: whether the mass a score misses bleeds over the tile's borders or lands on other objects."""
    distance = tile_distances(shares.shape[-1])
    flat = shares.reshape(-1, *shares.shape[-2:]).double()
    return {
        name: float((flat * mask).sum((1, 2)).mean() / shares.shape[-1])
        for name, mask in (("own", distance == 0), ("adjacent", distance == 1), ("farther", distance >= 2))
    }


def uniform_mass_by_distance(tiles: int = 9) -> dict[str, float]:
    """:func:`mass_by_distance` of a uniform map on a grid of ``tiles`` tiles: the reference its shares are read against."""
    return mass_by_distance(torch.full((tiles, tiles), 1 / tiles))


def play(grids: list[Grid], images: Tensor, attribute: AttributionFn, smooth: int = 1, progress: Callable | None = None) -> Tensor:
    """Scores (len(grids), n) of one attribution method; ``images`` are the encoded (N, C, h, w) images the grids index."""
    return own_scores(play_shares(grids, images, attribute, (smooth,), progress)[smooth])


def play_shares(
    grids: list[Grid], images: Tensor, attribute: AttributionFn, smooths: Sequence[int], progress: Callable | None = None
) -> dict[int, Tensor]:
    """Mass shares (len(grids), n, n) of each grid's maps (:func:`tile_mass_shares`) at several smoothings from one
    attribution per grid (the costly part): {smooth: shares}; :func:`own_scores` gives :func:`play`'s scores."""
    shares: dict[int, list[Tensor]] = {smooth: [] for smooth in smooths}
    for grid in progress(grids) if progress else grids:
        composed = compose_grid(images[list(grid.images)])
        maps = attribute(composed, list(grid.classes))
        for smooth in smooths:
            shares[smooth].append(tile_mass_shares(maps, len(grid.images), smooth))
    return {smooth: torch.stack(s) if s else torch.empty(0, 0, 0) for smooth, s in shares.items()}
