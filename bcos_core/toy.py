"""The 2D toy problem of the paper's Fig. 2: how B aligns a single unit's weight with its class.

Two problems share the same red cluster (label 1) and differ in the other, blue cluster (label 0):
problem A's blue centre is (0.85, 0.25) normalised to unit length, problem B's blue points are the red ones
mirrored in the vertical axis. One B-cos unit with unit weight w = (cos θ, sin θ) outputs

    out(x) = |cos(x, w)|^B · sgn(cos(x, w)) · ‖x‖          (B = 1: the linear unit w·x)

and is trained with BCE on ``logit_scale · out``. **Scale choice**: as in the paper's notebook, the logit
scale is fixed and small, 1 / (20 · Σᵢ‖xᵢ‖); no bias. With a small scale BCE is well posed (its minimum over
θ is attained on the unit circle instead of being pushed to infinite norm) and behaves like maximising
Σ_red out − Σ_blue out, so at B = 1 the optimum is the class-mean difference, which depends on the blue
cluster, while a large B only rewards weights aligned with the red points themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAPER_RED_CENTRE = (0.25, 1.0)
PAPER_BLUE_CENTRE_A = (0.85, 0.25)
# The paper sweeps θ over [0°, 180°] (the half-plane of the shared red cluster). Over the full circle a
# weight anti-aligned with the blue cluster can win for problem B at some B, which the figure does not show.
DEFAULT_THETAS_DEG = np.linspace(0.0, 180.0, 1801)  # 0.1° grid


@dataclass(frozen=True)
class ToyProblem:
    """Points (N, 2) with labels (N,) in {0, 1}; label 1 is the red class shared by both problems."""

    name: str
    points: np.ndarray
    labels: np.ndarray

    @property
    def logit_scale(self) -> float:
        return 1.0 / (20.0 * float(np.linalg.norm(self.points, axis=1).sum()))

    @property
    def red_mean_angle(self) -> float:
        """Direction (degrees) of the red cluster's mean."""
        mean = self.points[self.labels == 1].mean(0)
        return float(np.degrees(np.arctan2(mean[1], mean[0])) % 360)


def make_problem(
    kind: str = "A",
    *,
    red_centre: tuple[float, float] = PAPER_RED_CENTRE,
    blue_centre: tuple[float, float] | None = None,
    spread: float = 0.05,
    size: int = 10,
    seed: int = 0,
) -> ToyProblem:
    """Problem "A" (blue cluster at a normalised centre) or "B" (blue = red mirrored); seeded Gaussian clusters.

    ``blue_centre`` overrides problem A's blue centre (it is used as given, not normalised).
    """
    if size < 1 or spread < 0:
        raise ValueError(f"size must be >= 1 and spread >= 0, got {size} and {spread}")
    rng = np.random.default_rng(seed)
    red = np.asarray(red_centre, dtype=np.float64) + spread * rng.standard_normal((size, 2))
    if kind == "A":
        centre = np.asarray(PAPER_BLUE_CENTRE_A if blue_centre is None else blue_centre, dtype=np.float64)
        if blue_centre is None:
            centre = centre / np.linalg.norm(centre)
        blue = centre + spread * rng.standard_normal((size, 2))
    elif kind == "B":
        blue = red * np.array([-1.0, 1.0])
    else:
        raise ValueError(f"kind must be 'A' or 'B', got {kind!r}")
    points = np.concatenate([red, blue])
    labels = np.concatenate([np.ones(size), np.zeros(size)])
    return ToyProblem(kind, points, labels)


def unit_outputs(points: np.ndarray, thetas_deg: np.ndarray, b: float) -> np.ndarray:
    """(T, N) outputs of the unit at every angle for every point (vectorised)."""
    angles = np.radians(np.asarray(thetas_deg, dtype=np.float64))
    weights = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (T, 2), unit norm
    norms = np.linalg.norm(points, axis=1)  # (N,)
    cos = (weights @ points.T) / np.maximum(norms, 1e-12)  # (T, N)
    return np.abs(cos) ** b * np.sign(cos) * norms


def _bce_with_logits(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def loss_curve(problem: ToyProblem, b: float, thetas_deg: np.ndarray = DEFAULT_THETAS_DEG) -> np.ndarray:
    """Mean BCE loss (T,) at every angle."""
    logits = problem.logit_scale * unit_outputs(problem.points, thetas_deg, b)
    return _bce_with_logits(logits, problem.labels[None, :]).mean(1)


def optimal_angle(problem: ToyProblem, b: float, thetas_deg: np.ndarray = DEFAULT_THETAS_DEG) -> float:
    """θ*(B) in degrees: the loss-minimising angle on the grid."""
    return float(thetas_deg[int(np.argmin(loss_curve(problem, b, thetas_deg)))])


def angle_difference(a_deg: float, b_deg: float) -> float:
    """Smallest absolute difference of two angles, in degrees (0–180)."""
    return float(abs((a_deg - b_deg + 180) % 360 - 180))


def activation_map(theta_deg: float, b: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(len(ys), len(xs)) unit output over a grid of the plane (the paper's red shading uses its positive part)."""
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    return unit_outputs(grid, np.array([theta_deg]), b)[0].reshape(len(ys), len(xs))


def _loss_gradient(problem: ToyProblem, b: float, theta_deg: float, step: float = 1e-3) -> float:
    """d loss / d θ (per degree) by central differences: the loss is smooth in θ away from cos = 0."""
    grid = np.array([theta_deg - step, theta_deg + step])
    low, high = loss_curve(problem, b, grid)
    return float((high - low) / (2 * step))


def descent_trajectory(problem: ToyProblem, b: float, theta0_deg: float, learning_rate: float = 0.5, steps: int = 100) -> np.ndarray:
    """Angles (steps + 1,) of gradient descent on θ (in radians) from ``theta0_deg``.

    The gradient is divided by the logit scale, so the learning rate means the same whatever the data's size
    (≈ 0.5 moves the weight by tens of degrees per step far from the optimum); its direction is the true BCE
    gradient's.
    """
    degrees_per_radian = 180 / np.pi
    angles = [float(theta0_deg) % 360]
    for _ in range(steps):
        gradient_per_radian = _loss_gradient(problem, b, angles[-1]) * degrees_per_radian / problem.logit_scale
        angles.append((angles[-1] - learning_rate * gradient_per_radian * degrees_per_radian) % 360)
    return np.array(angles)
