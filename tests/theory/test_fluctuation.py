import math

import pytest

from snninit_adapters import LayerContext, SNNInitError
from snninit_adapters.theory import (
    PSPIntegrals,
    current_lif_psp_integrals,
    current_lif_psp_kernel,
    discrete_lif_psp_integrals,
    firing_probability,
    fluctuation_driven_centered_std,
    fluctuation_driven_moments,
    micheli2024_law,
    rossbroich2022_law,
)


@pytest.mark.parametrize("theta", [-0.5, 0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("n", [1, 100, 1000])
def test_centred_form_equals_paper_method(theta, n):
    # sigma_U = 1, one step (epsilon_hat = 1), nu = P(u > theta): exactly Eq. 10
    std = fluctuation_driven_centered_std(n, firing_probability(theta), 1.0, sigma_u=1.0)
    ctx = LayerContext(fan_in=n, fan_out=n, theta_pre=theta)
    assert std == pytest.approx(micheli2024_law(ctx).std, rel=1e-14)
    assert rossbroich2022_law(ctx).std == pytest.approx(micheli2024_law(ctx).std, rel=1e-14)


def test_stork_numerical_kernel_integrals():
    # stork's defaults (tau_mem = 20 ms, tau_syn = 10 ms, dt = 1 ms): 0.010507 s and 0.001842 s
    psp = current_lif_psp_integrals(20e-3, 10e-3, dt=1e-3)
    assert psp.epsilon_bar == pytest.approx(0.010507, abs=5e-7)
    assert psp.epsilon_hat == pytest.approx(0.001842, abs=5e-7)


def test_analytical_kernel_integrals():
    psp = current_lif_psp_integrals(20e-3, 10e-3, mode="analytical")
    assert psp == PSPIntegrals(pytest.approx(0.01), pytest.approx(0.01**2 / (2 * 0.03)))


def test_numerical_converges_to_analytical_as_dt_shrinks():
    fine = current_lif_psp_integrals(20e-3, 10e-3, dt=1e-5)
    exact = current_lif_psp_integrals(20e-3, 10e-3, mode="analytical")
    assert fine.epsilon_bar == pytest.approx(exact.epsilon_bar, rel=2e-3)
    assert fine.epsilon_hat == pytest.approx(exact.epsilon_hat, rel=2e-3)


def test_kernel_length_is_ten_time_constants():
    assert len(current_lif_psp_kernel(20e-3, 10e-3, 1e-3)) == 200


def test_unknown_mode():
    with pytest.raises(SNNInitError, match="numerical, analytical"):
        current_lif_psp_integrals(1.0, 1.0, mode="exact")


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_discrete_kernel_closed_forms(beta):
    steps = 7
    psp = discrete_lif_psp_integrals(beta, steps=steps, input_gain=0.5)
    assert psp.epsilon_bar == pytest.approx(0.5 * (1 - beta**steps) / (1 - beta))
    assert psp.epsilon_hat == pytest.approx(0.25 * (1 - beta ** (2 * steps)) / (1 - beta**2))
    infinite = discrete_lif_psp_integrals(beta)
    assert infinite.epsilon_bar == pytest.approx(1 / (1 - beta))


def test_discrete_kernel_rejects_divergent_sum():
    with pytest.raises(SNNInitError, match="diverges"):
        discrete_lif_psp_integrals(1.0)
    assert discrete_lif_psp_integrals(1.0, steps=3) == (3.0, 3.0)


def test_non_centred_moments():
    psp = PSPIntegrals(2.0, 0.5)
    mu_w, sigma_w = fluctuation_driven_moments(100, 0.1, psp, xi=2.0, theta=1.0, mu_u=0.2)
    assert mu_w == pytest.approx(0.2 / (100 * 0.1 * 2.0))
    assert sigma_w == pytest.approx(math.sqrt((0.8 / 2.0) ** 2 / (100 * 0.1 * 0.5) - mu_w**2))
    # Campbell's theorem gives back the targets
    mu_u = 100 * 0.1 * mu_w * psp.epsilon_bar
    sigma_u = math.sqrt(100 * 0.1 * (sigma_w**2 + mu_w**2) * psp.epsilon_hat)
    assert mu_u == pytest.approx(0.2)
    assert (1.0 - mu_u) / sigma_u == pytest.approx(2.0)


def test_non_centred_needs_xi():
    with pytest.raises(SNNInitError, match="xi"):
        rossbroich2022_law(LayerContext(fan_in=10, fan_out=10), centered=False)


def test_non_centred_with_zero_mean_uses_theta_over_xi():
    ctx = LayerContext(fan_in=10, fan_out=10, theta_pre=1.0, theta_post=2.0)
    law = rossbroich2022_law(ctx, centered=False, xi=4.0, nu=0.25)
    assert law.mean == 0.0
    assert law.std == pytest.approx(0.5 / math.sqrt(10 * 0.25))


def test_impossible_mean_rejected():
    with pytest.raises(SNNInitError, match="negative"):
        fluctuation_driven_moments(10, 1.0, PSPIntegrals(1.0, 0.01), xi=1.0, theta=1.0, mu_u=0.99)


def test_explicit_rate_and_sigma_u():
    ctx = LayerContext(fan_in=400, fan_out=400)
    assert rossbroich2022_law(ctx, nu=0.05, epsilon_hat=2.0, sigma_u=3.0).std == pytest.approx(
        3 / math.sqrt(400 * 0.05 * 2)
    )


def test_rate_from_real_valued_input():
    ctx = LayerContext(fan_in=9, fan_out=9, theta_pre=None, input_second_moment=1.0)
    assert rossbroich2022_law(ctx).std == pytest.approx(1 / 3)
