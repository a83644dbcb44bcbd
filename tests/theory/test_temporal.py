"""The deep fixed point, the floor and the temporal rule: Eq. 10 where the dynamics are memoryless."""

import numpy as np
import pytest
from scipy import special

from snninit_adapters import SNNInitError
from snninit_adapters.theory import (
    Dynamics,
    deep_fixed_point,
    input_layer_gain,
    matching_gain,
    rate_floor,
    stable_gain,
    temporal_weight_variance,
)
from snninit_adapters.theory.meanfield import SAMPLES, first_layer, layer_map, time_averaged_rate
from snninit_adapters.theory.temporal import STABLE, _solve

MEMORYLESS = [("hard", "before_leak"), ("soft", "before_leak")]


def eq10_kappa(theta: float) -> float:
    """Eq. 10 as a propagation gain: n Var[w] / theta^2 = 1 / (theta^2 Q(theta))."""
    return 1.0 / (theta**2 * special.ndtr(-theta))


@pytest.mark.parametrize(("reset", "timing"), MEMORYLESS)
@pytest.mark.parametrize("theta", [0.5, 1.0])
@pytest.mark.parametrize("source", ["constant", "bernoulli"])
def test_memoryless_dynamics_give_eq10_to_two_percent(reset, timing, theta, source):
    dyn = Dynamics(beta=0.0, theta=theta, reset=reset, timing=timing, steps=10, input=source)
    rule = temporal_weight_variance(1000, dyn)
    assert rule.feasible
    assert rule.stable
    expected = 1.0 / (1000 * special.ndtr(-theta))  # Eq. 10's Var[w] with g = 1
    assert rule.deep == pytest.approx(expected, rel=0.02)
    assert rule.kappa_deep == pytest.approx(eq10_kappa(theta), rel=0.02)
    if source == "constant":  # an encoding layer firing at Q(theta) at every step: the first layer is Eq. 10 too
        assert rule.first == pytest.approx(expected, rel=0.02)


def test_deep_layers_forget_their_input():
    dyn = Dynamics(beta=0.5, reset="soft", timing="before_leak", steps=10)
    constant, _ = first_layer(dyn)
    bernoulli, _ = first_layer(Dynamics(steps=10, input="bernoulli", input_rate=0.3))
    a = deep_fixed_point(9.0, dyn, start=constant)
    b = deep_fixed_point(9.0, dyn, start=bernoulli)
    assert a.alive
    assert a.rate == pytest.approx(b.rate, abs=4.0 / SAMPLES + 1e-3 * a.rate)
    assert a.period == 1
    assert a.stability < 1.0
    # the fixed point is a fixed point of the map
    again, _ = layer_map(a.cooccurrence, 9.0, dyn)
    assert time_averaged_rate(again) == pytest.approx(a.rate, abs=4.0 / SAMPLES + 2e-3 * a.rate)


def test_below_the_critical_gain_activity_dies():
    point = deep_fixed_point(5.5, Dynamics(beta=0.9, reset="soft", timing="before_leak", steps=5))
    assert not point.alive
    assert point.rate == 0.0


def test_eq10_at_theta_2_sits_on_the_unstable_branch():
    """At theta = 2 Eq. 10's fixed point Q(2) is the lower, unstable one: the layers leave it."""
    dyn = Dynamics(beta=0.0, theta=2.0, reset="hard", steps=3)
    q = float(special.ndtr(-2.0))
    start = np.full((3, 3), q * q) + (q - q * q) * np.eye(3)
    point = deep_fixed_point(eq10_kappa(2.0), dyn, start=start)
    assert abs(point.rate - q) > 0.5 * q


def test_the_floor_lifts_a_low_target_and_says_so():
    dyn = Dynamics(beta=0.9, theta=1.0, reset="soft", timing="before_leak", steps=10)
    floor = rate_floor(dyn)
    assert floor.kappa == pytest.approx(stable_gain(STABLE))
    assert floor.rate > 0.2  # a strong leak keeps deep layers far above the paper's Q(1) = 0.159
    rule = temporal_weight_variance(500, dyn)
    assert rule.lifted
    assert not rule.feasible
    assert rule.rate == pytest.approx(floor.rate, rel=0.02)
    assert any("below the lowest rate" in note for note in rule.notes())
    # a reachable target is kept
    higher = temporal_weight_variance(500, dyn, target_rate=0.4)
    assert higher.feasible
    assert higher.fixed_point.rate == pytest.approx(0.4, rel=0.02)


def test_matching_gain_makes_a_layer_fire_at_the_rate():
    dyn = Dynamics(beta=0.5, reset="soft", timing="after_leak", steps=8)
    c = np.full((8, 8), 0.04) + 0.16 * np.eye(8)
    kappa = matching_gain(c, 0.25, dyn)
    assert kappa is not None
    assert time_averaged_rate(layer_map(c, kappa, dyn)[0]) == pytest.approx(0.25, abs=1e-3)
    assert matching_gain(c, 0.999, dyn) is None  # no gain makes every neuron fire at every step
    data = input_layer_gain(dyn, 0.2, "repeated")
    assert data is not None
    assert time_averaged_rate(layer_map(np.ones((8, 8)), data, dyn)[0]) == pytest.approx(0.2, abs=1e-3)


def test_the_rule_scales_with_theta_squared_over_g_squared():
    base = Dynamics(beta=0.5, theta=1.0, gain=1.0, steps=6)
    scaled = Dynamics(beta=0.5, theta=2.0, gain=0.5, steps=6, input_std=2.0)
    a = temporal_weight_variance(100, base, target_rate=0.2)
    b = temporal_weight_variance(100, scaled, target_rate=0.2)
    assert b.kappa_deep == pytest.approx(a.kappa_deep)
    assert b.deep == pytest.approx(a.deep * 4.0 / 0.25)
    assert b.fixed_point.variance == pytest.approx(4.0 * a.fixed_point.variance)


def test_the_rule_is_cached_per_dynamics_and_rate():
    dyn = Dynamics(beta=0.3, reset="hard", steps=4)
    temporal_weight_variance(10, dyn)
    hits = _solve.cache_info().hits
    other = temporal_weight_variance(20, dyn)
    assert _solve.cache_info().hits == hits + 1
    assert other.deep == pytest.approx(temporal_weight_variance(10, dyn).deep / 2)


@pytest.mark.parametrize(("fan_in", "rate"), [(0, None), (True, None), (10, 0.0), (10, 1.0), (10, float("nan"))])
def test_bad_arguments_are_refused(fan_in, rate):
    with pytest.raises(SNNInitError):
        temporal_weight_variance(fan_in, Dynamics(steps=2), target_rate=rate)
    with pytest.raises(SNNInitError):
        deep_fixed_point(-1.0, Dynamics(steps=2))
