import math

import numpy as np
import pytest
import torch
from scipy import stats

from snninit_adapters.experiments.simulate import _input_current, _integrate, _SharedNoise, moments
from snninit_adapters.theory import WeightLaw


def test_moments_match_scipy():
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(500, 3, generator=gen, dtype=torch.float64).exp()  # skewed, heavy-tailed data
    mean, var, skew, kurt = moments(u)
    data = u.numpy()
    np.testing.assert_allclose(mean, data.mean(0), rtol=1e-12)
    np.testing.assert_allclose(var, data.var(0), rtol=1e-12)
    np.testing.assert_allclose(skew, stats.skew(data, axis=0, bias=True), rtol=1e-10)
    np.testing.assert_allclose(kurt, stats.kurtosis(data, axis=0, bias=True, fisher=True), rtol=1e-10)


def test_soft_reset_lands_one_step_late_as_in_snntorch_leaky():
    # beta = 1, theta = 1, constant input 0.7: membranes 0.7, 1.4 (spike), 1.1 (spike), 0.8
    membrane, spikes = _integrate(torch.full((1, 4), 0.7, dtype=torch.float64), beta=1.0, theta=1.0)
    np.testing.assert_allclose(membrane[0].numpy(), [0.7, 1.4, 1.1, 0.8], rtol=1e-12)
    assert spikes[0].tolist() == [False, True, True, False]


def test_leak():
    membrane, _ = _integrate(torch.ones(1, 3, dtype=torch.float64), beta=0.5, theta=10.0)
    np.testing.assert_allclose(membrane[0].numpy(), [1.0, 1.5, 1.75])


@pytest.mark.parametrize("law", [WeightLaw("normal", 0.3, 0.05), WeightLaw("uniform", 0.2, -0.1)])
def test_drawing_only_active_columns_equals_the_dense_product(law):
    # the shortcut draws W[:, active] from the shared noise; with the whole matrix built from the same
    # noise, W @ x must give the same currents
    gen = torch.Generator().manual_seed(1)
    spikes = torch.rand(50, 4, generator=gen) < 0.2
    spikes[:5] = False  # some silent presynaptic neurons
    noise = _SharedNoise(50, torch.Generator().manual_seed(2))
    current = _input_current(law, spikes, noise)
    scale = law.std if law.distribution == "normal" else law.bound
    weights = law.mean + scale * noise.matrix(law.distribution).double()
    np.testing.assert_allclose(current.numpy(), (weights @ spikes.double()).numpy(), rtol=1e-5, atol=1e-6)


def test_single_step_normal_shortcut_has_the_right_law():
    # with k active inputs each row's current is N(k mu, k s^2); check mean and variance over many rows
    law, k, rows = WeightLaw("normal", 0.1, 0.02), 40, 20000
    spikes = torch.zeros(rows, 1, dtype=torch.bool)
    spikes[:k] = True
    current = _input_current(law, spikes, _SharedNoise(rows, torch.Generator().manual_seed(3)))
    variance = k * law.std**2
    assert abs(float(current.mean()) - k * law.mean) < 5 * math.sqrt(variance / rows)
    assert abs(float(current.var()) / variance - 1) < 5 * math.sqrt(2 / rows)


def test_silent_input_gives_zero_current():
    current = _input_current(
        WeightLaw("normal", 1.0), torch.zeros(10, 3, dtype=torch.bool), _SharedNoise(10, torch.Generator())
    )
    assert torch.count_nonzero(current) == 0
