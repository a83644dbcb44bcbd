r"""Weight variance that keeps the membrane variance constant across layers (Micheli et al. 2024, Eqs. 7-10).

For a layer with fan-in :math:`n_l`, zero-mean i.i.d. weights independent of i.i.d. inputs
:math:`x_l`, and a downstream neuron whose membrane takes the synaptic input with gain :math:`g`,

.. math::

    \operatorname{Var}[u_l] = g^2\, n_l \operatorname{Var}[w_l]\, E[x_l^2].        \qquad (7)

For binary spikes :math:`E[x_l^2] = P(u_{l-1} > \theta)` (Eq. 9), and asking
:math:`\operatorname{Var}[u_l] = 1` with :math:`g = 1` gives the paper's initialisation

.. math::

    \operatorname{Var}[w_l] = \frac{1}{n_l\, P(u_{l-1} > \theta)}.                  \qquad (10)
"""

from __future__ import annotations

import math

import numpy as np

from snninit_adapters.errors import FiringProbabilityUnderflowError, SNNInitError
from snninit_adapters.theory.firing import ArrayLike, mean_firing_probability

__all__ = ["snn_weight_variance", "weight_variance"]


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise SNNInitError(f"{name} must be a positive finite number, got {value!r}")


def _check_fan_in(fan_in: int) -> None:
    if isinstance(fan_in, bool) or not isinstance(fan_in, int | np.integer) or fan_in < 1:
        raise SNNInitError(f"fan_in must be a positive integer, got {fan_in!r}")


def weight_variance(
    fan_in: int,
    input_second_moment: float,
    *,
    target_variance: float = 1.0,
    input_gain: float = 1.0,
) -> float:
    r"""Weight variance that gives the downstream membrane the target variance, Eq. 7 solved for Var[w].

    .. math::

        \operatorname{Var}[w] = \frac{\sigma_\text{target}^2}{g^2\, n\, E[x^2]}

    Use it directly for a layer whose input is a real-valued signal rather than spikes (the first
    layer of the paper's CNN reads normalised pixels, :math:`E[x^2] = 1`). For spiking input use
    :func:`snn_weight_variance`.

    Args:
        fan_in: Number of inputs :math:`n` summed into one output.
        input_second_moment: :math:`E[x^2]` of the layer's input (for 0/1 spikes, their firing probability).
        target_variance: :math:`\sigma_\text{target}^2`, the variance the downstream membrane should have.
        input_gain: :math:`g`, the coefficient with which the synaptic input enters the membrane in one step.

    Returns:
        The weight variance :math:`\operatorname{Var}[w]`.

    Raises:
        SNNInitError: If an argument is not positive and finite.

    Examples:
        >>> weight_variance(100, 1.0)
        0.01
    """
    _check_fan_in(fan_in)
    _check_positive("target_variance", target_variance)
    _check_positive("input_gain", input_gain)
    if not (math.isfinite(input_second_moment) and input_second_moment > 0):
        raise SNNInitError(
            f"input_second_moment E[x^2] must be a positive finite number, got {input_second_moment!r}: "
            "a layer whose input is always zero cannot be scaled to a target variance"
        )
    variance = target_variance / (input_gain**2 * fan_in * input_second_moment)
    if not math.isfinite(variance):
        raise SNNInitError(f"the weight variance overflows for E[x^2]={input_second_moment!r}, fan_in={fan_in}")
    return variance


def snn_weight_variance(fan_in: int, theta: ArrayLike, *, target_variance: float = 1.0) -> float:
    r"""The paper's weight variance for a layer fed by spikes (Micheli et al. 2024, Eq. 10).

    .. math::

        \operatorname{Var}[w_l] = \frac{\sigma_\text{target}^2}{n_l\, P(u_{l-1} > \theta)},
        \qquad P(u > \theta) = \tfrac12 \operatorname{erfc}(\theta / \sqrt 2)

    ``theta`` is the threshold of the upstream (presynaptic) neurons whose spikes feed the layer, in
    units where their membrane has unit variance. With per-neuron thresholds, :math:`P` is their mean
    firing probability. At :math:`\theta = 0` this is Kaiming's :math:`2/n`.

    Args:
        fan_in: Number of inputs :math:`n_l` (``in_features``; ``c_in * k * k`` for a conv).
        theta: Threshold(s) :math:`\theta` of the presynaptic neurons.
        target_variance: Variance the membrane should keep, 1 in the paper.

    Returns:
        The weight variance.

    Raises:
        FiringProbabilityUnderflowError: If :math:`P(u > \theta)` underflows, so the variance is not finite.
        SNNInitError: If ``fan_in`` or ``target_variance`` is invalid.

    Examples:
        >>> round(100 * snn_weight_variance(100, 1.0), 4)
        6.303
        >>> snn_weight_variance(100, 0.0)
        0.02
    """
    _check_fan_in(fan_in)
    _check_positive("target_variance", target_variance)
    p = mean_firing_probability(theta)
    worst_theta = float(np.max(theta))
    if p == 0.0:
        raise FiringProbabilityUnderflowError(worst_theta)
    variance = target_variance / (fan_in * p)
    if not math.isfinite(variance):
        raise FiringProbabilityUnderflowError(worst_theta, f"(P = {p:.3g} gives an infinite variance)")
    return variance
