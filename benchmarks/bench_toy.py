"""Server-side cost of the toy page for a new problem (JSON): the curves alone, and the complete figures.

    python -m benchmarks.bench_toy

"curves" is every loss curve, optimum and activation map of the B sweep (numpy); "figures" also builds the
Plotly figures with their animation frames. Moving the B slider itself costs no server time (client-side frames).
"""

from __future__ import annotations

import numpy as np

from app.toy_figures import B_SWEEP, PLANE, ToySettings, optimum_figure, sweep_figure, training_figure
from bcos_core.toy import activation_map, loss_curve, optimal_angle

from ._timing import machine, median_seconds, print_report


def _curves(settings: ToySettings) -> None:
    for problem in settings.problems():
        for b in B_SWEEP:
            loss_curve(problem, b)
            activation_map(optimal_angle(problem, b), b, PLANE, PLANE)
        [optimal_angle(problem, b) for b in np.geomspace(1, 50, 60)]


def main() -> None:
    before = machine()
    seeds = iter(range(1, 1000))  # a new problem every call, as when a user edits the clusters
    curves = median_seconds(lambda: _curves(ToySettings(seed=next(seeds))), repeats=7)
    figures = median_seconds(
        lambda: (sweep_figure(ToySettings(seed=next(seeds))), optimum_figure(ToySettings(seed=next(seeds)))), repeats=5
    )
    training = median_seconds(lambda: training_figure(ToySettings(seed=next(seeds)), 2.0, 10.0, 0.5), repeats=5)
    print_report(
        "toy_page_server_time",
        {
            "b_values_per_sweep": len(B_SWEEP),
            "curves_ms": round(1000 * curves, 1),
            "sweep_and_optimum_figures_ms": round(1000 * figures, 1),
            "training_figure_ms": round(1000 * training, 1),
        },
        before,
    )


if __name__ == "__main__":
    main()
