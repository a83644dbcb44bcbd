"""The multi-step mean-field layer map: the critical gain, the first step, and the sampler against a network."""

import math

import numpy as np
import pytest
from scipy import special

from snninit_adapters import SNNInitError
from snninit_adapters.theory import (
    Dynamics,
    critical_gain,
    first_step_slope,
    input_cooccurrence,
    layer_map,
    propagation_gain,
    stable_gain,
    weight_variance_of_gain,
)
from snninit_adapters.theory.meanfield import SAMPLES, first_layer, time_averaged_rate

ORDERINGS = [("soft", "after_leak"), ("soft", "before_leak"), ("hard", "before_leak"), ("none", "before_leak")]


def lif(current: np.ndarray, beta: float, reset: str, timing: str, theta: float = 1.0) -> np.ndarray:
    """The four orderings written out as the issue states them (neurons x steps); an independent reference."""
    u = np.zeros(current.shape[0])
    s = np.zeros(current.shape[0])
    spikes = np.zeros_like(current)
    for t in range(current.shape[1]):
        if reset == "soft" and timing == "after_leak":
            u = beta * u + current[:, t] - theta * s
        elif reset == "soft":
            u = beta * (u - theta * s) + current[:, t]
        elif reset == "hard":
            u = beta * u * (1 - s) + current[:, t]
        else:
            u = beta * u + current[:, t]
        s = (u > theta).astype(float)
        spikes[:, t] = s
    return spikes


def test_critical_gain_is_one_over_the_maximum_of_a_squared_q():
    grid = np.linspace(0.5, 2.5, 200001)
    expected = 1.0 / float(np.max(grid**2 * special.ndtr(-grid)))
    kappa_c, a_c = critical_gain()
    assert kappa_c == pytest.approx(expected, rel=1e-8)
    assert a_c == pytest.approx(grid[np.argmax(grid**2 * special.ndtr(-grid))], abs=1e-4)
    # Eq. 10 at theta = 1 sits just above it
    assert 1.0 / special.ndtr(-1.0) > kappa_c


def test_first_step_slope_is_one_at_the_critical_gain_and_stable_gain_inverts_it():
    kappa_c, _ = critical_gain()
    assert first_step_slope(kappa_c * (1 + 1e-9)) == pytest.approx(1.0, abs=1e-3)
    assert first_step_slope(kappa_c * 0.99) == math.inf
    for slope in (0.5, 0.8, 0.95):
        assert first_step_slope(stable_gain(slope)) == pytest.approx(slope, rel=1e-6)
    # the slope is the derivative of the one-step map r -> Q(1 / sqrt(kappa r)) at its stable fixed point
    kappa = 6.303
    a = 1.0 / math.sqrt(kappa * special.ndtr(-1.0))  # near Eq. 10's fixed point r = Q(1)
    r = float(special.ndtr(-1.0))
    h = 1e-6
    one_step = lambda rate: float(special.ndtr(-1.0 / math.sqrt(kappa * rate)))  # noqa: E731
    assert a == pytest.approx(1.0, rel=1e-3)
    assert (one_step(r + h) - one_step(r - h)) / (2 * h) == pytest.approx(first_step_slope(kappa), rel=2e-3)


@pytest.mark.parametrize(("reset", "timing"), ORDERINGS)
def test_the_first_step_follows_the_one_step_map_whatever_the_dynamics(reset, timing):
    dyn = Dynamics(beta=0.9, reset=reset, timing=timing, steps=6)
    c = np.full((6, 6), 0.05) + 0.1 * np.eye(6)
    out, _ = layer_map(c, 7.0, dyn)
    assert out[0, 0] == pytest.approx(special.ndtr(-1.0 / math.sqrt(7.0 * c[0, 0])), abs=2.0 / SAMPLES)


@pytest.mark.parametrize(("reset", "timing"), ORDERINGS)
def test_the_sampler_matches_a_network_layer(reset, timing):
    """(W X)_i over steps is N(0, Var[w] X^T X): the map's rates are a real layer's, to the binomial error."""
    rng = np.random.default_rng(3)
    n, neurons, steps, beta, kappa = 400, 20000, 8, 0.5, 8.0
    x = (rng.random((n, steps)) < 0.2).astype(float)
    x[:, 1::2] *= rng.random((n, steps // 2)) < 0.5  # a time structure: sparser odd steps
    w = rng.normal(0.0, math.sqrt(kappa / n), (neurons, n))
    simulated = lif(w @ x, beta, reset, timing)
    dyn = Dynamics(beta=beta, reset=reset, timing=timing, steps=steps)
    predicted, _ = layer_map(x.T @ x / n, kappa, dyn)
    rates = simulated.mean(axis=0)
    tolerance = 5 * np.sqrt(rates * (1 - rates) / neurons) + 2.0 / SAMPLES
    assert np.all(np.abs(np.diag(predicted) - rates) <= tolerance)
    # and the co-occurrences, the map's whole state
    assert np.abs(predicted - simulated.T @ simulated / neurons).max() <= 5 * math.sqrt(0.25 / neurons) + 2.0 / SAMPLES


def test_scale_invariance_spikes_depend_on_kappa_alone():
    rng = np.random.default_rng(0)
    current = rng.normal(size=(500, 10))
    for scale in (0.5, 3.0):
        assert np.array_equal(
            lif(current, 0.7, "soft", "after_leak"), lif(scale * current, 0.7, "soft", "after_leak", theta=scale)
        )
    dyn = Dynamics(theta=2.0, gain=0.5)
    variance = weight_variance_of_gain(7.0, 300, dyn)
    assert variance == pytest.approx(7.0 * 4.0 / (300 * 0.25))
    assert propagation_gain(300, variance, dyn) == pytest.approx(7.0)


def test_the_constant_input_layer_and_the_data_cooccurrences():
    dyn = Dynamics(beta=0.0, reset="hard", steps=4, input="constant")
    c, rate = first_layer(dyn)
    # memoryless with a constant current: a neuron fires at every step or never, at rate Q(1)
    assert rate == pytest.approx(special.ndtr(-1.0), abs=1.0 / SAMPLES)
    assert np.allclose(c, c[0, 0])
    bernoulli = Dynamics(steps=3, input="bernoulli", input_rate=0.2)
    c, rate = first_layer(bernoulli)
    assert rate == 0.2
    assert np.allclose(c, np.full((3, 3), 0.04) + 0.16 * np.eye(3))
    assert np.array_equal(input_cooccurrence("repeated", 3), np.ones((3, 3)))
    assert np.array_equal(input_cooccurrence("independent", 3), np.eye(3))
    with pytest.raises(SNNInitError, match="repeated"):
        input_cooccurrence("shuffled", 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [{"beta": 1.5}, {"theta": 0.0}, {"reset": "subtract"}, {"timing": "later"}, {"steps": 0}, {"gain": -1.0}],
)
def test_dynamics_refuse_bad_values(fields):
    with pytest.raises(SNNInitError):
        Dynamics(**fields)


def test_memoryless_dynamics():
    assert Dynamics(beta=0.0, reset="hard").memoryless
    assert Dynamics(beta=0.0, reset="soft", timing="before_leak").memoryless
    assert not Dynamics(beta=0.0, reset="soft", timing="after_leak").memoryless  # Eq. 13: a refractory penalty
    assert not Dynamics(beta=0.5, reset="hard").memoryless
    assert time_averaged_rate(np.diag([0.1, 0.3])) == pytest.approx(0.2)
