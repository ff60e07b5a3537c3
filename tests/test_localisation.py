"""Grid pointing game: grid layout, scoring (smoothing before clamping), grid sampling, and the attribution methods."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bcos_core
from bcos_core.attribution import BCOS, DEEPLIFT, attribution_method, available_methods, deletion_curve
from bcos_core.localisation import (
    Grid,
    compose_grid,
    confident_images,
    grid_recall,
    mass_between_classes,
    mass_by_distance,
    own_scores,
    play,
    play_shares,
    sample_grids,
    scores_by_class,
    tile_distances,
    tile_mass_shares,
    tile_scores,
    uniform_mass_by_distance,
)
from bcos_core.zoo import random_model


def test_tile_k_sits_in_column_i_row_j() -> None:
    tiles = torch.arange(9.0)[:, None, None, None].expand(9, 2, 4, 4).contiguous()
    grid = compose_grid(tiles)
    assert grid.shape == (2, 12, 12)
    for k in range(9):
        i, j = divmod(k, 3)
        assert torch.all(grid[:, 4 * j : 4 * j + 4, 4 * i : 4 * i + 4] == k)


def _brute_force_scores(maps: np.ndarray, smooth: int) -> np.ndarray:
    """Loops: zero-padded box mean, then clamp, then the mass of each tile (k = i·3 + j: column i, row j)."""
    n, height, width = maps.shape
    half = (smooth - 1) // 2
    scores = []
    for k, m in enumerate(maps):
        padded = np.pad(m, half)
        smoothed = np.array([[padded[y : y + smooth, x : x + smooth].sum() / smooth**2 for x in range(width)] for y in range(height)])
        positive = np.clip(smoothed, 0, None)
        i, j = divmod(k, 3)
        th, tw = height // 3, width // 3
        own = positive[j * th : (j + 1) * th, i * tw : (i + 1) * tw].sum()
        scores.append(own / positive.sum() if positive.sum() > 0 else 0.0)
    return np.array(scores)


@pytest.mark.parametrize("smooth", [1, 3, 5])
def test_scores_equal_a_brute_force_computation(smooth: int) -> None:
    maps = torch.randn(9, 12, 12) + 0.3
    expected = _brute_force_scores(maps.double().numpy(), smooth)
    assert np.allclose(tile_scores(maps, 9, smooth).numpy(), expected, atol=1e-6)


def test_scores_perfect_uniform_and_empty_maps() -> None:
    perfect = torch.zeros(9, 9, 9)
    for k in range(9):
        i, j = divmod(k, 3)
        perfect[k, 3 * j : 3 * j + 3, 3 * i : 3 * i + 3] = 1.0
    assert torch.allclose(tile_scores(perfect, 9), torch.ones(9))
    assert torch.allclose(tile_scores(torch.ones(9, 9, 9), 9), torch.full((9,), 1 / 9))
    assert torch.equal(tile_scores(-torch.ones(9, 9, 9), 9), torch.zeros(9))


def test_a_class_agnostic_map_scores_one_ninth_on_average_whatever_it_shows() -> None:
    """The nine tiles split the map's mass, so the same map for all nine classes averages exactly 1/9 per grid: the
    grid pointing game cannot rank class-agnostic methods such as attention rollout."""
    shown = torch.rand(12, 12) ** 4  # any non-uniform map
    scores = tile_scores(shown[None].expand(9, 12, 12), 9, smooth=3)
    assert scores.std() > 0.01
    assert scores.mean().item() == pytest.approx(1 / 9, abs=1e-6)


def test_mass_shares_split_each_maps_positive_mass_over_the_tiles_in_tile_order() -> None:
    maps = torch.zeros(9, 9, 9)
    maps[0, 0:3, 0:3] = 1.0  # map 0: 1 on tile 0 (column 0, row 0) ...
    maps[0, 3:6, 0:3] = 3.0  # ... 3 on tile 1 (column 0, row 1)
    maps[0, 0:3, 6:9] = -5.0  # ... and negative mass on tile 6, which does not count
    shares = tile_mass_shares(maps, 9)
    assert shares[0].tolist() == pytest.approx([0.25, 0.75, 0, 0, 0, 0, 0, 0, 0])
    assert torch.equal(shares[1:], torch.zeros(8, 9))  # no positive mass: no share anywhere
    maps = torch.randn(9, 12, 12) + 0.3
    for smooth in (1, 3):
        shares = tile_mass_shares(maps, 9, smooth)
        assert torch.allclose(shares.sum(1), torch.ones(9, dtype=shares.dtype))
        assert torch.equal(own_scores(shares), tile_scores(maps, 9, smooth))


def test_tile_distances_on_the_three_by_three_grid() -> None:
    distance = tile_distances(9)
    assert distance[4].tolist() == [1, 1, 1, 1, 0, 1, 1, 1, 1]  # the centre touches every other tile
    assert distance[0].tolist() == [0, 1, 2, 1, 1, 2, 2, 2, 2]  # a corner touches three
    assert torch.equal(distance, distance.T)


def test_mass_by_distance_of_a_uniform_a_perfect_and_a_bleeding_map() -> None:
    uniform = mass_by_distance(torch.full((2, 9, 9), 1 / 9))  # 4 corners, 4 edges and the centre touch 3, 5 and 8 tiles
    assert uniform == pytest.approx({"own": 1 / 9, "adjacent": 40 / 81, "farther": 32 / 81})
    assert uniform_mass_by_distance(9) == pytest.approx(uniform)
    assert mass_by_distance(torch.eye(9)) == pytest.approx({"own": 1.0, "adjacent": 0.0, "farther": 0.0})
    bleeding = torch.zeros(9, 9)
    bleeding[:, 4] = 1.0  # every map's mass on the centre tile: its own for tile 4, a neighbour's for the rest
    assert mass_by_distance(bleeding) == pytest.approx({"own": 1 / 9, "adjacent": 8 / 9, "farther": 0.0})


def test_mass_between_classes_averages_over_the_grids_where_both_classes_are() -> None:
    grids = [Grid((0, 1, 2, 3), (0, 1, 2, 3)), Grid((4, 5, 6, 7), (1, 0, 2, 4))]  # 2×2 grids, classes 0-4
    shares = torch.zeros(2, 4, 4)
    shares[0, 0] = torch.tensor([0.5, 0.5, 0, 0])  # grid 0: class 0's map, half on its tile, half on class 1's
    shares[1, 1] = torch.tensor([0.2, 0.8, 0, 0])  # grid 1: class 0's map (tile 1), 0.2 on class 1's tile (tile 0)
    shares[0, 1] = shares[1, 0] = torch.tensor([0.0, 0, 0, 0])  # class 1's maps: no positive mass at all
    matrix = mass_between_classes(grids, shares, 5)
    assert matrix[0, 0] == pytest.approx(0.65) and matrix[0, 1] == pytest.approx(0.35)  # both grids have both
    assert matrix[0, 2] == 0 and matrix[1, 1] == 0
    assert torch.isnan(matrix[3, 4]) and torch.isnan(matrix[4, 3])  # 3 and 4 never share a grid
    assert not torch.isnan(matrix[0, 4])  # grid 1 has classes 0 and 4
    uniform = mass_between_classes(grids, torch.full((2, 4, 4), 0.25), 5)
    assert torch.allclose(uniform[~torch.isnan(uniform)], torch.tensor(0.25, dtype=torch.float64))


def test_smoothing_happens_before_clamping() -> None:
    maps = torch.zeros(9, 9, 9)
    maps[:, 0, 0], maps[:, 0, 1] = 1.0, -1.0  # tile 0: a positive pixel next to a negative one
    maps[:, 8, 8] = 0.5  # tile 8
    smoothed_first = tile_scores(maps, 9, smooth=3)
    # clamping first would keep tile 0's +1 whole (score 1/1.5); smoothing first lets the −1 cancel part of it
    assert float(smoothed_first[0]) < 1 / 1.5 - 0.1


def _logits(rows: list[tuple[int, float]], num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, labels): each row (label, own logit); other classes get −5."""
    logits = torch.full((len(rows), num_classes), -5.0)
    labels = torch.tensor([label for label, _ in rows])
    for r, (label, value) in enumerate(rows):
        logits[r, label] = value
    return logits, labels


def test_scores_by_class_average_each_class_over_the_grids_it_appears_in() -> None:
    grids = [Grid((0, 1), (3, 5)), Grid((2, 3), (5, 7))]
    scores = torch.tensor([[0.2, 0.9], [0.5, 1.0]])
    by_class = scores_by_class(grids, scores)
    assert list(by_class) == [3, 5, 7]
    assert by_class[3] == pytest.approx((0.2, 1)) and by_class[5] == pytest.approx((0.7, 2)) and by_class[7] == pytest.approx((1.0, 1))


def test_only_correct_confident_images_most_confident_first() -> None:
    logits, labels = _logits([(0, 2.0), (0, 3.0), (0, -0.5), (1, 1.0)])
    logits[3, 2] = 4.0  # image 3 is misclassified as class 2
    per_class = confident_images(logits, labels)
    assert per_class[0] == [1, 0] and per_class[1] == []


def test_grids_use_distinct_classes_each_image_once_and_are_seeded() -> None:
    rows = [(c, 1.0 + r) for c in range(10) for r in range(6)]
    per_class = confident_images(*_logits(rows))
    grids = sample_grids(per_class, 100)
    assert len(grids) == 6  # 60 images of 10 classes: 6 grids of 9, then fewer than 9 classes are left
    used = [i for g in grids for i in g.images]
    assert len(used) == len(set(used))
    for grid in grids:
        assert len(set(grid.classes)) == 9 and all(int(rows[i][0]) == c for i, c in zip(grid.images, grid.classes))
    assert grids == sample_grids(per_class, 100) and grids != sample_grids(per_class, 100, seed=0)
    with pytest.raises(ValueError, match="square"):
        sample_grids(per_class, 1, tiles=8)


@pytest.fixture(scope="module")
def bcos_model():
    return random_model("bcos_fastnet_cifar10", seed=1, widths=(8, 8, 16, 16))


def _conventional():
    torch.manual_seed(2)
    return bcos_core.build_model("conventional_fastnet_cifar10", widths=(8, 8, 16, 16)).eval()


def _grid() -> torch.Tensor:
    x = torch.rand(3, 48, 48)
    return torch.cat([x, 1 - x])


def test_methods_that_apply() -> None:
    bcos, relu = available_methods(random_model("bcos_fastnet_cifar10")), available_methods(_conventional())
    assert BCOS in bcos and DEEPLIFT not in bcos
    assert BCOS not in relu and DEEPLIFT in relu
    with pytest.raises(ValueError, match="does not apply"):
        attribution_method(BCOS, _conventional())


@pytest.mark.parametrize("kind", ["bcos", "relu"])
def test_every_method_gives_one_map_per_class(kind: str, bcos_model) -> None:
    model = bcos_model if kind == "bcos" else _conventional()
    classes = [3, 1, 7]
    for method in available_methods(model):
        maps = attribution_method(method, model)(_grid(), classes)
        assert maps.shape == (3, 48, 48) and torch.isfinite(maps).all(), method
    assert not model.training


def test_bcos_maps_are_exact_and_integrated_gradients_equal_input_x_gradient(bcos_model) -> None:
    grid = _grid()
    maps = attribution_method(BCOS, bcos_model)(grid, [0, 5])
    logits = bcos_core.class_logits(bcos_model, grid)
    assert torch.allclose(maps.double().sum((1, 2)) + bcos_model.logit_bias, logits[[0, 5]].double(), rtol=1e-4)
    # a B-cos network without biases is positively homogeneous: its gradient is constant along the path αx
    ig = attribution_method("Integrated Gradients", bcos_model)(grid, [0, 5])
    ixg = attribution_method("Input×Gradient", bcos_model)(grid, [0, 5])
    assert torch.allclose(ig, ixg, rtol=1e-3, atol=1e-6)


def test_occlusion_of_all_classes_at_once_equals_one_class_at_a_time(bcos_model) -> None:
    from captum.attr import Occlusion

    grid = _grid()
    together = attribution_method("Occlusion", bcos_model)(grid, [2, 6])
    for row, c in enumerate([2, 6]):
        single = Occlusion(bcos_model).attribute(grid[None], target=c, sliding_window_shapes=(6, 8, 8), strides=(6, 8, 8), baselines=0.0)
        assert torch.allclose(together[row], single[0].sum(0), atol=1e-5)


def test_grid_recall_counts_the_tile_classes_among_the_top_logits() -> None:
    grids = [Grid(tuple(range(9)), tuple(range(9))), Grid(tuple(range(9)), tuple(range(1, 10)))]
    logits = torch.arange(10.0).flip(0).expand(2, 10)  # class 0 highest, class 9 lowest
    assert grid_recall(logits, grids).tolist() == pytest.approx([1.0, 8 / 9])
    assert grid_recall(logits[:0], []).numel() == 0


def test_play_scores_every_tile(bcos_model) -> None:
    images = torch.stack([torch.cat([x, 1 - x]) for x in torch.rand(18, 3, 16, 16)])
    grids = [Grid(tuple(range(9)), tuple(range(9))), Grid(tuple(range(9, 18)), (9, 8, 7, 6, 5, 4, 3, 2, 1))]
    scores = play(grids, images, attribution_method(BCOS, bcos_model))
    assert scores.shape == (2, 9) and ((scores >= 0) & (scores <= 1)).all()


def test_several_smoothings_from_one_pass_equal_separate_games(bcos_model) -> None:
    images = torch.stack([torch.cat([x, 1 - x]) for x in torch.rand(9, 3, 16, 16)])
    grids = [Grid(tuple(range(9)), tuple(range(9)))]
    calls = []

    def counting(image, classes):
        calls.append(1)
        return attribution_method(BCOS, bcos_model)(image, classes)

    together = play_shares(grids, images, counting, (3, 1))
    assert len(calls) == 1 and set(together) == {3, 1} and together[3].shape == (1, 9, 9)
    for smooth in (3, 1):
        assert torch.equal(own_scores(together[smooth]), play(grids, images, attribution_method(BCOS, bcos_model), smooth))
    assert not torch.equal(together[3], together[1])


def test_deletion_curve_starts_at_the_logit_and_ends_at_the_images_mean_colour(bcos_model) -> None:
    image = _grid()
    fractions, logits = deletion_curve(bcos_model, image, 4, torch.rand(48, 48), steps=8)
    assert fractions[0] == 0 and fractions[-1] == 1 and len(logits) == 9
    flat = image.mean((1, 2))[:, None, None].expand_as(image)
    assert float(logits[0]) == pytest.approx(float(bcos_core.class_logits(bcos_model, image)[4]), rel=1e-5)
    assert float(logits[-1]) == pytest.approx(float(bcos_core.class_logits(bcos_model, flat)[4]), rel=1e-5, abs=1e-6)
    black = torch.cat([torch.zeros(3), torch.ones(3)])
    _, to_black = deletion_curve(bcos_model, image, 4, torch.rand(48, 48), steps=8, fill=black)
    assert float(to_black[-1]) == pytest.approx(
        float(bcos_core.class_logits(bcos_model, black[:, None, None].expand_as(image))[4]), rel=1e-5, abs=1e-6
    )
