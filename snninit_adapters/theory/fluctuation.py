r"""Fluctuation-driven initialisation (Rossbroich, Gygax & Zenke 2022), the seventh baseline.

Rossbroich, Gygax & Zenke (2022), "Fluctuation-driven initialization for spiking neural network
training", Neuromorph. Comput. Eng. 2:044016; formulas as in their code (fmi-basel/stork,
``stork/initializers.py``). For :math:`N` Poisson inputs at rate :math:`\nu` with weights of mean
:math:`\mu_W` and std :math:`\sigma_W`, Campbell's theorem gives the membrane's mean and variance

.. math::

    \mu_U = N \nu \mu_W \bar\epsilon, \qquad \sigma_U^2 = N \nu (\sigma_W^2 + \mu_W^2) \hat\epsilon,

where :math:`\bar\epsilon = \int \epsilon\,dt` and :math:`\hat\epsilon = \int \epsilon^2\,dt` are
integrals of the post-synaptic potential kernel :math:`\epsilon`. Asking :math:`\theta - \mu_U = \xi
\sigma_U` gives

.. math::

    \mu_W = \frac{\mu_U}{N \nu \bar\epsilon}, \qquad
    \sigma_W = \sqrt{\frac{1}{N \nu \hat\epsilon} \left(\frac{\theta - \mu_U}{\xi}\right)^2 - \mu_W^2},

and the centred form (:math:`\mu_U = 0`, target :math:`\sigma_U`) gives
:math:`\sigma_W = \sigma_U / \sqrt{N \nu \hat\epsilon}`. With :math:`\sigma_U = 1`, one time step
(:math:`\hat\epsilon = 1`) and :math:`\nu = P(u > \theta)` the centred form is exactly the paper's
Eq. 10.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory.firing import mean_firing_probability
from snninit_adapters.theory.law import LayerContext, WeightLaw

__all__ = [
    "PSPIntegrals",
    "current_lif_psp_integrals",
    "current_lif_psp_kernel",
    "discrete_lif_psp_integrals",
    "fluctuation_driven_centered_std",
    "fluctuation_driven_moments",
    "rossbroich2022_law",
]


class PSPIntegrals(NamedTuple):
    r"""Integrals of a post-synaptic potential kernel :math:`\epsilon`.

    Attributes:
        epsilon_bar: :math:`\bar\epsilon = \int \epsilon`, in the kernel's time unit (steps or seconds).
        epsilon_hat: :math:`\hat\epsilon = \int \epsilon^2`, in the same unit.
    """

    epsilon_bar: float
    epsilon_hat: float


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise SNNInitError(f"{name} must be a positive finite number, got {value!r}")


def discrete_lif_psp_integrals(beta: float, *, steps: int | None = None, input_gain: float = 1.0) -> PSPIntegrals:
    r"""Kernel integrals of a discrete leaky neuron :math:`u_t = \beta u_{t-1} + g I_t`, in steps.

    One input spike of weight 1 gives :math:`\epsilon_k = g \beta^k`, so over :math:`T` steps

    .. math::

        \bar\epsilon = g \frac{1 - \beta^T}{1 - \beta}, \qquad \hat\epsilon = g^2 \frac{1 - \beta^{2T}}{1 - \beta^2}.

    For snnTorch's ``Leaky`` :math:`g = 1`; one step gives :math:`\bar\epsilon = \hat\epsilon = 1`.
    The rate :math:`\nu` that goes with these integrals is in spikes per step.

    Args:
        beta: Leak :math:`\beta \in [0, 1]` per step.
        steps: Number of steps :math:`T` the kernel is summed over; None for the infinite sum (needs
            :math:`\beta < 1`).
        input_gain: The neuron's input gain :math:`g`.

    Returns:
        The two integrals.

    Examples:
        >>> discrete_lif_psp_integrals(0.5, steps=1)
        PSPIntegrals(epsilon_bar=1.0, epsilon_hat=1.0)
        >>> discrete_lif_psp_integrals(0.5)
        PSPIntegrals(epsilon_bar=2.0, epsilon_hat=1.3333333333333333)
    """
    if not (math.isfinite(beta) and 0 <= beta <= 1):
        raise SNNInitError(f"beta must lie in [0, 1], got {beta!r}")
    _positive("input_gain", input_gain)
    if steps is None:
        if beta == 1:
            raise SNNInitError("the infinite kernel sum diverges for beta = 1; pass a finite number of steps")
        return PSPIntegrals(input_gain / (1 - beta), input_gain**2 / (1 - beta**2))
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise SNNInitError(f"steps must be a positive integer or None, got {steps!r}")
    k = np.arange(steps, dtype=np.float64)
    kernel = input_gain * beta**k
    return PSPIntegrals(float(kernel.sum()), float((kernel**2).sum()))


def current_lif_psp_kernel(tau_mem: float, tau_syn: float, dt: float) -> npt.NDArray[np.float64]:
    r"""PSP kernel of a current-based LIF neuron, sampled every ``dt`` for ``10 * max(tau)``.

    The discretisation of stork's ``LIFGroup``: the synaptic current starts at 1 and decays by
    :math:`e^{-dt/\tau_s}` per step; the membrane follows
    :math:`U \leftarrow e^{-dt/\tau_m} U + (1 - e^{-dt/\tau_m}) I`.

    Args:
        tau_mem: Membrane time constant :math:`\tau_m` (seconds).
        tau_syn: Synaptic time constant :math:`\tau_s` (seconds).
        dt: Time step (seconds).

    Returns:
        The membrane response, one value per step.
    """
    for name, value in (("tau_mem", tau_mem), ("tau_syn", tau_syn), ("dt", dt)):
        _positive(name, value)
    decay_mem, decay_syn = math.exp(-dt / tau_mem), math.exp(-dt / tau_syn)
    n_steps = int(10 * max(tau_mem, tau_syn) / dt)
    kernel = np.empty(n_steps)
    mem, syn = 0.0, 1.0
    for step in range(n_steps):
        mem = decay_mem * mem + (1 - decay_mem) * syn
        syn *= decay_syn
        kernel[step] = mem
    return kernel


def current_lif_psp_integrals(
    tau_mem: float,
    tau_syn: float,
    *,
    dt: float = 1e-3,
    mode: Literal["numerical", "analytical"] = "numerical",
) -> PSPIntegrals:
    r"""Kernel integrals of a current-based LIF neuron (stork's defaults), in seconds.

    Analytical: :math:`\bar\epsilon = \tau_s` and :math:`\hat\epsilon = \tau_s^2 / (2(\tau_s + \tau_m))`.
    Numerical (stork's default): sums of :func:`current_lif_psp_kernel` times ``dt``.

    Args:
        tau_mem: Membrane time constant (seconds).
        tau_syn: Synaptic time constant (seconds).
        dt: Time step of the numerical kernel (seconds).
        mode: ``"numerical"`` or ``"analytical"``.

    Returns:
        The two integrals; the rate :math:`\nu` that goes with them is in Hz.
    """
    if mode == "analytical":
        _positive("tau_mem", tau_mem)
        _positive("tau_syn", tau_syn)
        return PSPIntegrals(tau_syn, tau_syn**2 / (2 * (tau_syn + tau_mem)))
    if mode == "numerical":
        kernel = current_lif_psp_kernel(tau_mem, tau_syn, dt)
        return PSPIntegrals(float(kernel.sum() * dt), float((kernel**2).sum() * dt))
    raise SNNInitError(f"unknown mode {mode!r}; valid modes are numerical, analytical")


def fluctuation_driven_moments(
    fan_in: int,
    nu: float,
    psp: PSPIntegrals,
    *,
    xi: float,
    theta: float = 1.0,
    mu_u: float = 0.0,
) -> tuple[float, float]:
    r"""Mean and std of the weights, :math:`(\mu_W, \sigma_W)`, of the non-centred fluctuation-driven form.

    Args:
        fan_in: Number of inputs :math:`N`.
        nu: Presynaptic rate :math:`\nu`, in the inverse of the kernel's time unit.
        psp: The kernel integrals :math:`\bar\epsilon, \hat\epsilon`.
        xi: Distance from the mean membrane to the threshold, in membrane standard deviations.
        theta: Threshold :math:`\theta` of the driven neurons.
        mu_u: Target mean membrane potential :math:`\mu_U`.

    Returns:
        ``(mu_w, sigma_w)``.

    Raises:
        SNNInitError: If an argument is out of range or the requested :math:`\mu_U` leaves no room for
            fluctuations (:math:`\sigma_W^2 < 0`).
    """
    _positive("nu", nu)
    _positive("xi", xi)
    _positive("epsilon_bar", psp.epsilon_bar)
    _positive("epsilon_hat", psp.epsilon_hat)
    mu_w = mu_u / (fan_in * nu * psp.epsilon_bar)
    sigma_w_sq = ((theta - mu_u) / xi) ** 2 / (fan_in * nu * psp.epsilon_hat) - mu_w**2
    if sigma_w_sq < 0:
        raise SNNInitError(
            f"mu_u={mu_u!r} is too close to theta={theta!r} for xi={xi!r}: the weight variance would be negative"
        )
    return mu_w, math.sqrt(sigma_w_sq)


def fluctuation_driven_centered_std(fan_in: int, nu: float, epsilon_hat: float, *, sigma_u: float = 1.0) -> float:
    r"""Weight std of the centred fluctuation-driven form, :math:`\sigma_W = \sigma_U / \sqrt{N \nu \hat\epsilon}`.

    Args:
        fan_in: Number of inputs :math:`N`.
        nu: Presynaptic rate :math:`\nu`.
        epsilon_hat: Kernel integral :math:`\hat\epsilon`.
        sigma_u: Target membrane std :math:`\sigma_U`.

    Returns:
        :math:`\sigma_W`.

    Examples:
        >>> from snninit_adapters.theory import firing_probability
        >>> round(fluctuation_driven_centered_std(1, firing_probability(1.0), 1.0), 4)
        2.5106
    """
    _positive("nu", nu)
    _positive("epsilon_hat", epsilon_hat)
    _positive("sigma_u", sigma_u)
    return sigma_u / math.sqrt(fan_in * nu * epsilon_hat)


def rossbroich2022_law(
    context: LayerContext,
    *,
    nu: float | None = None,
    epsilon_bar: float | None = None,
    epsilon_hat: float | None = None,
    centered: bool = True,
    sigma_u: float | None = None,
    mu_u: float = 0.0,
    xi: float | None = None,
    steps: int | None = None,
) -> WeightLaw:
    r"""Fluctuation-driven initialisation of Rossbroich, Gygax & Zenke (2022), centred or not.

    The kernel integrals are those of the neuron actually driven: the discrete leaky neuron
    :math:`u_t = \beta u_{t-1} + g I_t` summed over the ``T`` steps it runs
    (:func:`discrete_lif_psp_integrals`, from ``context.temporal`` and ``context.input_gain``), so
    :math:`\hat\epsilon = g^2 (1 - \beta^{2T}) / (1 - \beta^2)`; where the dynamics are not known, one
    step: :math:`\bar\epsilon = g`, :math:`\hat\epsilon = g^2`. The presynaptic rate :math:`\nu` is the
    layer's expected squared input (:math:`P(u > \theta_\text{pre})` spikes per step), and, in the
    centred form, :math:`\sigma_U = \sqrt{\sigma^2_\text{target}}` (1, as in the method's published
    examples). The original method measures :math:`\nu` on the dataset; pass it as ``nu``. At one step
    with :math:`g = 1` the centred form is the paper's Eq. 10.

    Args:
        context: The layer.
        nu: Presynaptic rate per kernel time unit; by default the layer's expected squared input.
        epsilon_bar: Kernel integral :math:`\bar\epsilon` (used by the non-centred form); by default the
            driven neuron's.
        epsilon_hat: Kernel integral :math:`\hat\epsilon`; by default the driven neuron's.
        centered: True for the centred form (:math:`\mu_U = 0`, target :math:`\sigma_U`).
        sigma_u: Target membrane std of the centred form; by default the square root of the target variance.
        mu_u: Target mean membrane potential of the non-centred form.
        xi: Distance to threshold in standard deviations; required by the non-centred form.
        steps: The time steps :math:`T` (read through ``context.temporal``, which carries them).

    Returns:
        A normal weight law (non-zero mean in the non-centred form when ``mu_u != 0``).
    """
    del steps  # the planner puts T into context.temporal
    nu = _presynaptic_rate(context) if nu is None else nu
    kernel = _driven_kernel(context)
    epsilon_bar = kernel.epsilon_bar if epsilon_bar is None else epsilon_bar
    epsilon_hat = kernel.epsilon_hat if epsilon_hat is None else epsilon_hat
    if centered:
        if sigma_u is None:
            sigma_u = math.sqrt(context.target_variance)
        return WeightLaw("normal", fluctuation_driven_centered_std(context.fan_in, nu, epsilon_hat, sigma_u=sigma_u))
    if xi is None:
        raise SNNInitError("the non-centred fluctuation-driven form needs xi (distance to threshold in stds)")
    if context.theta_post is None:
        raise SNNInitError("the non-centred fluctuation-driven form needs the driven neurons' threshold")
    theta = float(np.mean(np.asarray(context.theta_post, dtype=np.float64)))
    mu_w, sigma_w = fluctuation_driven_moments(
        context.fan_in, nu, PSPIntegrals(epsilon_bar, epsilon_hat), xi=xi, theta=theta, mu_u=mu_u
    )
    return WeightLaw("normal", sigma_w, mu_w)


def _presynaptic_rate(context: LayerContext) -> float:
    """The layer's expected squared input: a real input's second moment, or P(u > theta_pre) spikes per step."""
    if context.input_second_moment is not None:
        return context.input_second_moment
    if context.theta_pre is None:
        raise SNNInitError("rossbroich2022 needs the presynaptic rate nu, or a presynaptic threshold to derive it")
    nu = context.spike_amplitude**2 * mean_firing_probability(context.theta_pre)
    if nu == 0.0:
        raise SNNInitError("the presynaptic rate derived from the threshold underflows to 0; pass nu explicitly")
    return nu


def _driven_kernel(context: LayerContext) -> PSPIntegrals:
    """The kernel integrals of the driven neuron over its steps (one step where its dynamics are not known)."""
    if context.temporal is None:
        return discrete_lif_psp_integrals(0.0, steps=1, input_gain=context.input_gain)
    dynamics = context.temporal.dynamics
    return discrete_lif_psp_integrals(dynamics.beta, steps=dynamics.steps, input_gain=context.input_gain)
