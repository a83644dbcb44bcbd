import math

import numpy as np
import pytest
import torch
from scipy import stats

from snninit_adapters import SNNInitError
from snninit_adapters.theory import firing_probability, snn_weight_variance
from snninit_adapters.theory.finite_width import (
    lower_fixed_point,
    max_threshold,
    membrane_variance_moments,
    propagate_spike_counts,
    recommend_width,
    spike_count_transition,
    survival_probability,
    variance_map,
    variance_map_slope,
)


def dense_monte_carlo(width, depth, theta, networks, seed=0):
    """Independent check: full n x n Gaussian matrices, no shortcut. Returns (alive at L, Var[u_L]) per network."""
    gen = torch.Generator().manual_seed(seed)
    std = math.sqrt(snn_weight_variance(width, theta))
    alive, variances = [], []
    for _ in range(networks):
        spikes = (torch.randn(width, generator=gen, dtype=torch.float64) > theta).double()
        for _ in range(depth):
            u = (std * torch.randn(width, width, generator=gen, dtype=torch.float64)) @ spikes
            spikes = (u > theta).double()
        alive.append(bool(spikes.any()))
        variances.append(float(u.var(unbiased=False)))
    return np.array(alive), np.array(variances)


@pytest.mark.parametrize(("width", "theta"), [(40, 0.5), (40, 1.0), (60, 0.85), (100, 1.25)])
def test_survival_and_variance_agree_with_dense_monte_carlo(width, theta):
    depth, networks = 15, 300
    alive, variances = dense_monte_carlo(width, depth, theta, networks)
    std = math.sqrt(snn_weight_variance(width, theta))
    chain = propagate_spike_counts([width] * (depth + 1), [theta] * (depth + 1), [std] * depth)
    p = chain.survival[-1]
    # binomial Monte Carlo error on the survival fraction, at 5 standard errors (floor: one network)
    assert abs(alive.mean() - p) <= 5 * math.sqrt(max(p * (1 - p), 1 / networks) / networks) + chain.truncation_bound
    mean_var, std_var = membrane_variance_moments(chain)
    assert abs(variances.mean() - mean_var[-1]) <= 5 * std_var[-1] / math.sqrt(networks) + 1e-12


def test_transition_rows_are_binomials():
    matrix, dropped = spike_count_transition(30, 50, 0.7, 0.2, tol=1e-15)
    dense = matrix.toarray()
    k = 12
    p = 0.5 * math.erfc(0.7 / (0.2 * math.sqrt(2 * k)))
    np.testing.assert_allclose(dense[k], stats.binom.pmf(np.arange(51), 50, p), atol=1e-15)
    assert dense[0, 0] == 1.0  # no input spikes: no output spikes (theta > 0): activity lost for good
    assert dropped <= 1e-15 + 51 * np.finfo(float).eps  # the row sum's own rounding


def test_truncation_error_is_bounded_and_tracked():
    exact = propagate_spike_counts([80] * 11, [1.0] * 11, [0.3] * 10, tol=0.0)
    loose = propagate_spike_counts([80] * 11, [1.0] * 11, [0.3] * 10, tol=1e-6)
    assert exact.truncation_bound <= 1e-12
    assert 0 < loose.truncation_bound <= 10 * 1e-6
    for a, b in zip(exact.distributions, loose.distributions, strict=True):
        assert np.abs(a - b).sum() <= loose.truncation_bound + 1e-12


def test_distributions_sum_to_one_and_layer_zero_is_binomial():
    chain = propagate_spike_counts([200, 300, 250], [1.0, 0.5, 0.8], [0.1, 0.2])
    for d in chain.distributions:
        assert d.sum() == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(chain.distributions[0], stats.binom.pmf(np.arange(201), 200, firing_probability(1.0)))
    assert chain.spike_count_mean()[0] == pytest.approx(200 * firing_probability(1.0))
    assert chain.spike_count_std()[0] == pytest.approx(
        math.sqrt(200 * firing_probability(1.0) * (1 - firing_probability(1.0)))
    )
    assert chain.spike_count_quantile(0.5)[0] == stats.binom.median(200, firing_probability(1.0))


def test_papers_fig4_statements_as_numbers():
    # n = 100: activity is lost for theta > 0.85; n = 600: only theta = 1 still degrades (100 layers)
    assert survival_probability(100, 100, 0.5) > 0.999
    assert survival_probability(100, 100, 1.0) < 0.05
    assert survival_probability(600, 100, 0.85) > 0.999
    assert survival_probability(600, 100, 1.0) < 0.9


def test_wide_layers_are_fast_enough_and_survive():
    assert survival_probability(4096, 100, 1.0) > 0.999999


def test_mean_field_map():
    assert variance_map(1.0, 0.8) == pytest.approx(1.0)
    assert variance_map(0.0, 0.8) == 0.0
    eps = 1e-6
    numeric = (variance_map(1 + eps, 1.0) - variance_map(1 - eps, 1.0)) / (2 * eps)
    assert variance_map_slope(1.0) == pytest.approx(numeric, rel=1e-6)
    assert variance_map_slope(1.0) < 1 < variance_map_slope(1.25)


def test_lower_fixed_point_is_a_repelling_fixed_point():
    v = lower_fixed_point(1.0)
    assert 0 < v < 1
    assert variance_map(v, 1.0) == pytest.approx(v, abs=1e-10)
    assert variance_map(v * 0.9, 1.0) < v * 0.9  # below it the variance shrinks
    assert variance_map(v * 1.1, 1.0) > v * 1.1  # above it, it grows back towards 1
    assert lower_fixed_point(0.5) < lower_fixed_point(0.85) < lower_fixed_point(1.0)  # the basin shrinks with theta


def test_advice_is_consistent_with_survival():
    width = recommend_width(1.0, 50, survival=0.99)
    assert survival_probability(width, 50, 1.0) >= 0.99
    assert survival_probability(width - 1, 50, 1.0) < 0.99
    theta = max_threshold(300, 50, survival=0.99, xtol=1e-3)
    assert survival_probability(300, 50, theta) >= 0.99
    assert survival_probability(300, 50, theta + 2e-3) < 0.99


def test_invalid_layers():
    with pytest.raises(SNNInitError, match="one width and threshold per layer"):
        propagate_spike_counts([10, 10], [1.0], [0.1])
    with pytest.raises(SNNInitError, match="weight std"):
        spike_count_transition(10, 10, 1.0, 0.0)
