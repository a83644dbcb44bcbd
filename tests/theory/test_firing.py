import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from snninit_adapters import SNNInitError
from snninit_adapters.theory import firing_probability, log_firing_probability, mean_firing_probability

finite_thetas = st.floats(min_value=-30, max_value=30, allow_nan=False)


def test_closed_form_at_one():
    # 0.5 * erfc(1 / sqrt(2)), to 12 digits
    assert firing_probability(1.0) == pytest.approx(0.5 * math.erfc(1 / math.sqrt(2)), rel=1e-12)
    assert firing_probability(1.0) == pytest.approx(0.158655253931457, abs=1e-15)


def test_zero_threshold_is_one_half():
    assert firing_probability(0.0) == 0.5


def test_deep_tail_does_not_round_to_zero():
    # reference values from mpmath at 30 digits: 0.5 * erfc(8 / sqrt(2)) = 6.22096057427178e-16
    naive = 1.0 - 0.5 * (1.0 + math.erf(8.0 / math.sqrt(2.0)))
    assert abs(naive / 6.22096057427178e-16 - 1) > 0.05  # 1 - Phi(8) cancels catastrophically
    assert firing_probability(8.0) == pytest.approx(6.22096057427178e-16, rel=1e-12)
    assert firing_probability(30.0) > 0.0


def test_mean_and_std_shift_and_scale():
    assert firing_probability(3.0, mean=1.0, std=2.0) == pytest.approx(firing_probability(1.0), rel=1e-14)


def test_log_matches_where_representable_and_stays_finite_beyond():
    assert log_firing_probability(2.0) == pytest.approx(math.log(firing_probability(2.0)), rel=1e-12)
    assert firing_probability(40.0) == 0.0
    # mpmath at 30 digits: log(0.5 * erfc(40 / sqrt(2)))
    assert log_firing_probability(40.0) == pytest.approx(-804.608442013754, rel=1e-12)


def test_arrays_keep_shape():
    p = firing_probability(np.array([[0.0, 1.0], [-1.0, 2.0]]))
    assert p.shape == (2, 2)
    assert p[0, 0] == 0.5
    assert p[1, 0] == pytest.approx(1 - firing_probability(1.0), rel=1e-14)


def test_mean_over_per_neuron_thresholds():
    thetas = np.array([0.0, 1.0, 2.0])
    expected = (0.5 + firing_probability(1.0) + firing_probability(2.0)) / 3
    assert mean_firing_probability(thetas) == pytest.approx(expected, rel=1e-14)
    assert mean_firing_probability(1.0) == firing_probability(1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"std": 0.0}, "std"), ({"std": -1.0}, "std"), ({"mean": math.inf}, "mean")]
)
def test_bad_moments_rejected(kwargs, message):
    with pytest.raises(SNNInitError, match=message):
        firing_probability(1.0, **kwargs)


def test_nan_theta_rejected():
    with pytest.raises(SNNInitError, match="theta"):
        firing_probability(float("nan"))


def test_empty_thresholds_rejected():
    with pytest.raises(SNNInitError, match="at least one"):
        mean_firing_probability(np.array([]))


@given(finite_thetas)
def test_symmetry(theta):
    assert firing_probability(theta) + firing_probability(-theta) == pytest.approx(1.0, abs=1e-15)


@given(st.floats(min_value=-30, max_value=-1e-6))
def test_negative_thresholds_fire_more_than_half(theta):
    assert firing_probability(theta) > 0.5


@given(finite_thetas, finite_thetas)
def test_monotone_decreasing_in_theta(a, b):
    lo, hi = min(a, b), max(a, b)
    assert firing_probability(lo) >= firing_probability(hi)
    assert log_firing_probability(lo) >= log_firing_probability(hi)
