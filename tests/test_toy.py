"""The paper's Fig. 2 claims, checked on the toy module."""

from __future__ import annotations

import numpy as np
import pytest

from bcos_core.toy import (
    DEFAULT_THETAS_DEG,
    activation_map,
    angle_difference,
    descent_trajectory,
    loss_curve,
    make_problem,
    optimal_angle,
)

SWEEP = [1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0]


@pytest.fixture(scope="module")
def problems():
    return make_problem("A"), make_problem("B")


def test_at_b1_optima_differ_by_a_large_angle(problems) -> None:
    a, b = problems
    assert angle_difference(optimal_angle(a, 1.0), optimal_angle(b, 1.0)) > 90
    # B = 1 is a linear classifier: the optimum follows the difference of the class means
    for problem in problems:
        diff = problem.points[problem.labels == 1].mean(0) - problem.points[problem.labels == 0].mean(0)
        assert angle_difference(optimal_angle(problem, 1.0), np.degrees(np.arctan2(diff[1], diff[0])) % 360) < 2


def test_difference_shrinks_as_b_grows(problems) -> None:
    a, b = problems
    gaps = [angle_difference(optimal_angle(a, beta), optimal_angle(b, beta)) for beta in SWEEP]
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:])), gaps


def test_largest_b_aligns_both_with_the_red_cluster(problems) -> None:
    for problem in problems:
        assert angle_difference(optimal_angle(problem, SWEEP[-1]), problem.red_mean_angle) < 3


def test_loss_curve_matches_brute_force(problems) -> None:
    problem = problems[0]
    thetas = DEFAULT_THETAS_DEG[::97]
    curve = loss_curve(problem, 2.5, thetas)
    for theta, value in zip(thetas, curve):
        w = np.array([np.cos(np.radians(theta)), np.sin(np.radians(theta))])
        total = 0.0
        for x, y in zip(problem.points, problem.labels):
            cos = float(w @ x) / float(np.linalg.norm(x))
            logit = problem.logit_scale * abs(cos) ** 2.5 * np.sign(cos) * np.linalg.norm(x)
            probability = 1 / (1 + np.exp(-logit))
            total += -(y * np.log(probability) + (1 - y) * np.log(1 - probability))
        assert value == pytest.approx(total / len(problem.labels), rel=1e-9)


def test_gradient_descent_reaches_the_optimum(problems) -> None:
    for problem in problems:
        path = descent_trajectory(problem, 2.0, theta0_deg=60.0, learning_rate=0.5, steps=200)
        assert angle_difference(path[-1], optimal_angle(problem, 2.0)) < 0.5


def test_activation_map_is_positive_along_the_weight() -> None:
    xs = ys = np.linspace(-1, 1, 21)
    activation = activation_map(45.0, 2.0, xs, ys)
    assert activation.shape == (21, 21)
    assert activation[20, 20] > 0 and activation[0, 0] < 0  # (1, 1) aligned, (−1, −1) opposite


def test_problems_are_seeded_and_validated() -> None:
    np.testing.assert_array_equal(make_problem("A", seed=3).points, make_problem("A", seed=3).points)
    with pytest.raises(ValueError):
        make_problem("C")
    with pytest.raises(ValueError):
        make_problem("A", size=0)
