"""Figure T1 in CI's version (30 layers of 1000, 10 steps, one run per cell) on the reference backend.

The criteria are derived from the sample size: a layer's time-averaged rate r over n = 1000 neurons
has a finite-width standard error of at most sqrt(r (1 - r) / n) (less when the steps decorrelate
the neurons), so the ratio of two layers' rates has a relative standard error of at most
sqrt(2 (1 - r) / (n r)); the temporal rule must stay within 4 of them of 1 in every feasible, stable
cell, and its mean deviation over those cells (about 40 independent ratios) within 2 % + 1 standard
error of the mean, while Eq. 10's is several times larger.
"""

import math

import numpy as np
import pytest

from snninit_adapters.experiments.store import read_csv
from snninit_adapters.experiments.temporal import run_temporal_grid
from snninit_adapters.experiments.temporal_cells import GRID, METHODS, grid_cells
from snninit_adapters.experiments.temporal_summary import cell_results


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_temporal_grid(quick=True, out=tmp_path_factory.mktemp("t1"), progress=False, plot=True)


def ratio_error(rate: float, width: int) -> float:
    """The largest finite-width standard error of the ratio of two layers' rates (independent neurons)."""
    return math.sqrt(2 * (1 - rate) / (width * rate))


def test_the_temporal_rule_keeps_the_rate_in_every_feasible_stable_cell(quick):
    spec = quick.spec
    results = cell_results(spec, quick.rows)
    assert len(results) == len(GRID.betas) * len(GRID.thetas) * len(GRID.orderings) * len(GRID.sources)
    good = [r for r in results if r.theory.feasible and r.stable]
    assert len(good) >= 30
    deviations, errors = {method: [] for method in METHODS}, []
    for result in good:
        error = ratio_error(float(result.rates[METHODS[1]][1]), spec.width)
        for layer in spec.checked:
            ratio = result.ratio(METHODS[1], layer)
            assert abs(ratio - 1) <= 4 * error, (result.reset, result.source, result.beta, result.theta, ratio)
        errors.append(error)
        for method in METHODS:
            deviations[method].append(abs(result.ratio(method, spec.depth) - 1))
    temporal, paper = np.mean(deviations[METHODS[1]]), np.mean(deviations[METHODS[0]])
    # pure finite-width noise has E|ratio - 1| = sqrt(2 / pi) * error at most; allow a 2% bias on top
    assert temporal <= 0.02 + math.sqrt(2 / math.pi) * np.mean(errors), temporal
    assert paper > 2 * temporal, (paper, temporal)


def test_the_outputs_are_written_and_a_rerun_reuses_every_cell(quick, tmp_path):
    assert quick.computed == len(list(grid_cells(quick.spec, "reference")))
    assert read_csv(quick.csv)[0].keys() >= {"reset", "timing", "source", "beta", "theta", "method", "layer", "rate"}
    assert quick.figures[0].read_bytes()[:4] == b"\x89PNG"
    assert "# Fig. T1" in quick.summary
    assert "Cells the temporal rule misses" in quick.summary
    rerun = run_temporal_grid(quick=True, out=quick.csv.parents[2], progress=False, plot=False)
    assert (rerun.computed, rerun.reused) == (0, quick.computed)


def test_framework_grids_skip_the_resets_their_neuron_lacks():
    cells = list(grid_cells(GRID.quick(), "spikingjelly"))
    assert {(c["reset"], c["timing"]) for c in cells} == {("soft", "before_leak"), ("hard", "before_leak")}
    assert 0.0 not in {c["beta"] for c in cells}  # LIFNode needs tau = 1 / (1 - beta) > 1
    assert {(c["reset"], c["timing"]) for c in grid_cells(GRID.quick(), "snntorch")} == {
        ("soft", "after_leak"),
        ("hard", "before_leak"),
        ("none", "before_leak"),
    }


def test_unknown_backends_are_refused():
    with pytest.raises(ValueError, match="figure T1 runs on"):
        run_temporal_grid(backend="exact")
