import math

import pytest

from snninit_adapters import LayerContext, SNNInitError
from snninit_adapters.theory import (
    bellec2018_law,
    ding2022_law,
    firing_probability,
    glorot_law,
    kaiming_law,
    lee2016_law,
    lee2016_threshold,
    micheli2024_law,
    snn_weight_variance,
    zenke2021_law,
)

N = 1000
SQUARE = LayerContext(fan_in=N, fan_out=N, theta_pre=1.0, theta_post=1.0)


@pytest.mark.parametrize(
    ("law", "std_times_sqrt_n"),
    [
        (micheli2024_law, 2.5106),
        (kaiming_law, math.sqrt(2)),
        (glorot_law, 1.0),
        (lee2016_law, 1.0),
        (bellec2018_law, 1.0),
        (zenke2021_law, 1.0),
        (ding2022_law, math.sqrt(2)),
    ],
)
def test_summary_numbers_at_theta_one(law, std_times_sqrt_n):
    # the summary table of the baselines notes: std * sqrt(n) at theta = 1, n = m
    assert law(SQUARE).std * math.sqrt(N) == pytest.approx(std_times_sqrt_n, abs=1e-4)


def test_lee2016_is_uniform_with_bound_sqrt_3_over_m():
    law = lee2016_law(LayerContext(fan_in=300, fan_out=10))
    assert law.distribution == "uniform"
    assert law.bound == pytest.approx(math.sqrt(3 / 300))


def test_lee2016_threshold():
    assert lee2016_threshold(300, alpha=5.0) == pytest.approx(5 * math.sqrt(3 / 300))
    with pytest.raises(SNNInitError, match="alpha"):
        lee2016_threshold(300, alpha=0.0)


def test_glorot_uses_both_fans():
    assert glorot_law(LayerContext(fan_in=100, fan_out=300)).variance == pytest.approx(2 / 400)


def test_micheli_reduces_to_eq10_with_unit_gain_and_amplitude():
    ctx = LayerContext(fan_in=600, fan_out=600, theta_pre=0.8)
    assert micheli2024_law(ctx).variance == pytest.approx(snn_weight_variance(600, 0.8), rel=1e-15)


def test_micheli_general_gain_and_amplitude():
    # Var[w] = target / (g^2 n a^2 P)
    ctx = LayerContext(fan_in=50, fan_out=50, theta_pre=1.0, spike_amplitude=2.0, input_gain=0.5, target_variance=3.0)
    expected = 3.0 / (0.5**2 * 50 * 2.0**2 * firing_probability(1.0))
    assert micheli2024_law(ctx).variance == pytest.approx(expected, rel=1e-14)


def test_micheli_real_valued_input():
    ctx = LayerContext(fan_in=27, fan_out=576, theta_pre=None, input_second_moment=1.0)
    assert micheli2024_law(ctx).variance == pytest.approx(1 / 27)


def test_micheli_needs_threshold_or_moment():
    with pytest.raises(SNNInitError, match="presynaptic threshold"):
        micheli2024_law(LayerContext(fan_in=3, fan_out=3, theta_pre=None))


def test_micheli_uniform_has_same_variance():
    assert micheli2024_law(SQUARE, distribution="uniform").variance == pytest.approx(micheli2024_law(SQUARE).variance)


def test_ding_scales_with_postsynaptic_threshold_squared():
    ctx = LayerContext(fan_in=100, fan_out=100, theta_pre=1.0, theta_post=0.5)
    assert ding2022_law(ctx).variance == pytest.approx(2 * 0.25 / 100)
    assert ding2022_law(ctx, slope=4.0).variance == pytest.approx(2 / (100 * 16))


def test_ding_needs_positive_threshold_or_slope():
    with pytest.raises(SNNInitError, match="slope="):
        ding2022_law(LayerContext(fan_in=10, fan_out=10, theta_post=0.0))


def test_zenke_gain():
    assert zenke2021_law(SQUARE, gain=3.5).std * math.sqrt(N) == pytest.approx(3.5)
    with pytest.raises(SNNInitError, match="gain"):
        zenke2021_law(SQUARE, gain=-1.0)


@pytest.mark.parametrize("law", [zenke2021_law, ding2022_law])
def test_provisional_methods_say_so(law):
    assert "Provisional" in law.__doc__
