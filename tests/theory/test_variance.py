import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from snninit_adapters import FiringProbabilityUnderflowError, SNNInitError
from snninit_adapters.theory import firing_probability, snn_weight_variance, weight_variance


@pytest.mark.parametrize(("theta", "n_times_var"), [(1.0, 6.3030), (0.5, 3.2411), (0.0, 2.0)])
def test_paper_numbers(theta, n_times_var):
    # Micheli et al. 2024, Sec. III-B: n Var[w] = 1 / P(u > theta)
    for n in (1, 100, 784, 4096):
        assert n * snn_weight_variance(n, theta) == pytest.approx(n_times_var, abs=5e-5)


def test_zero_threshold_equals_kaiming():
    for n in (3, 600, 1000):
        assert snn_weight_variance(n, 0.0) == pytest.approx(2.0 / n, rel=1e-15)


def test_std_at_one_matches_paper():
    assert math.sqrt(snn_weight_variance(1000, 1.0)) * math.sqrt(1000) == pytest.approx(2.5106, abs=1e-4)


def test_target_variance_scales_linearly():
    assert snn_weight_variance(100, 1.0, target_variance=4.0) == pytest.approx(4 * snn_weight_variance(100, 1.0))


def test_per_neuron_thresholds_use_mean_probability():
    thetas = np.array([0.5, 1.0, 1.5])
    p = np.mean([firing_probability(t) for t in thetas])
    assert snn_weight_variance(10, thetas) == pytest.approx(1 / (10 * p), rel=1e-14)


def test_deep_tail_gives_finite_variance():
    assert snn_weight_variance(100, 8.0) == pytest.approx(1 / (100 * 6.220960574271785e-16), rel=1e-9)


@pytest.mark.parametrize("theta", [40.0, 1e3, math.inf])
def test_underflow_raises_naming_theta(theta):
    with pytest.raises(FiringProbabilityUnderflowError, match=f"theta={theta!r}") as info:
        snn_weight_variance(100, theta)
    assert info.value.theta == theta
    assert isinstance(info.value, ValueError)


def test_underflow_of_per_neuron_thresholds_names_the_largest():
    with pytest.raises(FiringProbabilityUnderflowError, match=r"theta=50\.0"):
        snn_weight_variance(100, np.array([45.0, 50.0]))


@pytest.mark.parametrize("fan_in", [0, -3, 2.5, True, "10"])
def test_bad_fan_in(fan_in):
    with pytest.raises(SNNInitError, match="fan_in"):
        snn_weight_variance(fan_in, 1.0)


def test_weight_variance_for_real_valued_input():
    # the CNN's first layer: normalised pixels, E[x^2] = 1
    assert weight_variance(27, 1.0) == pytest.approx(1 / 27)
    assert weight_variance(27, 0.25, target_variance=2.0, input_gain=0.5) == pytest.approx(2.0 / (0.25 * 27 * 0.25))


def test_weight_variance_reduces_to_eq10_for_spikes():
    p = firing_probability(0.7)
    assert weight_variance(300, p) == pytest.approx(snn_weight_variance(300, 0.7), rel=1e-15)


@pytest.mark.parametrize("moment", [0.0, -1.0, math.nan, math.inf])
def test_weight_variance_rejects_bad_second_moment(moment):
    with pytest.raises(SNNInitError, match="E\\[x\\^2\\]"):
        weight_variance(10, moment)


@given(
    st.integers(min_value=1, max_value=10**6),
    st.floats(min_value=-20, max_value=20, allow_nan=False),
    st.floats(min_value=-20, max_value=20, allow_nan=False),
)
def test_monotone_increasing_in_theta(n, a, b):
    lo, hi = min(a, b), max(a, b)
    assert snn_weight_variance(n, lo) <= snn_weight_variance(n, hi)


@given(st.integers(min_value=1, max_value=10**6), st.floats(min_value=-20, max_value=-1e-6))
def test_negative_thresholds_give_less_than_kaiming(n, theta):
    assert snn_weight_variance(n, theta) < 2.0 / n


@given(st.integers(min_value=1, max_value=10**6), st.floats(min_value=1e-6, max_value=20))
def test_positive_thresholds_exceed_kaiming(n, theta):
    # Eq. 11: Var[w] > 2 / n whenever theta > 0
    assert snn_weight_variance(n, theta) > 2.0 / n
