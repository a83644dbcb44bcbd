import math

import pytest

from snninit_adapters.experiments import figure_spec, run_propagation
from snninit_adapters.experiments.exact import exact_methods
from snninit_adapters.experiments.summary import aggregate
from snninit_adapters.theory import survival_probability


def test_only_zero_mean_normal_methods_are_exact():
    methods = exact_methods(figure_spec(3))
    assert "lee2016" not in methods  # uniform weights
    assert {"micheli2024", "kaiming", "glorot", "bellec2018", "zenke2021", "ding2022", "rossbroich2022"} == set(methods)


def test_exact_expectations_agree_with_the_simulated_runs(tmp_path):
    runs = 40
    result = run_propagation(4, backend="exact", quick=True, runs=runs, out=tmp_path, progress=False, plot=False)
    simulated = aggregate(run_propagation(4, quick=True, runs=runs, out=tmp_path, progress=False, plot=False).rows)
    exact = {(r["threshold"], r["width"]): r for r in result.rows if r["layer"] == 20}
    for (theta, width), row in exact.items():
        spikes = simulated[("micheli2024", theta, width)]["spikes"][:, 20, 0]
        # the simulated mean over `runs` networks, against the exact mean, within 5 exact standard errors
        assert abs(spikes.mean() - row["spikes"]) <= 5 * row["spikes_std"] / math.sqrt(runs) + 1e-9, (theta, width)
        assert row["survival"] == pytest.approx(survival_probability(width, 20, theta), rel=1e-9)


def test_exact_summary_has_the_survival_table(tmp_path):
    result = run_propagation(2, backend="exact", quick=True, out=tmp_path, progress=False, plot=False)
    assert "## Exact probability that activity survives to layer 20" in result.summary
    assert "Not a simulation" in result.summary
    assert {r["run"] for r in result.rows} == {0}


def test_multi_step_figures_are_refused(tmp_path):
    with pytest.raises(ValueError, match="single-step figures"):
        run_propagation(5, backend="exact", quick=True, out=tmp_path, progress=False)
