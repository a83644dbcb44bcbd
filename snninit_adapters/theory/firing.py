r"""Firing probability of a neuron whose membrane potential is Gaussian (Micheli et al. 2024, Eq. 12).

A spiking neuron passes signal on only when its membrane potential :math:`u` crosses its
threshold :math:`\theta`. For :math:`u \sim \mathcal{N}(\mu_u, \sigma_u^2)`

.. math::

    P(u > \theta) = \int_\theta^\infty \mathcal{N}(u; \mu_u, \sigma_u^2)\, du
                  = \Phi\!\left(\frac{\mu_u - \theta}{\sigma_u}\right)
                  = \tfrac12 \operatorname{erfc}\!\left(\frac{\theta - \mu_u}{\sigma_u \sqrt 2}\right).

The tail is evaluated with :func:`scipy.special.ndtr` and :func:`scipy.special.log_ndtr`, which stay
accurate far into it (``P(u > 8) = 6.2e-16``, where ``1 - Phi(8)`` would round to 0).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special

from snninit_adapters.errors import SNNInitError

__all__ = ["ArrayLike", "firing_probability", "log_firing_probability", "mean_firing_probability"]

ArrayLike = float | npt.ArrayLike
"""A threshold: a number or an array of per-neuron thresholds."""


def _standardised_margin(theta: ArrayLike, mean: float, std: float) -> npt.NDArray[np.float64]:
    if not math.isfinite(std) or std <= 0:
        raise SNNInitError(f"std must be a positive finite number, got {std!r}")
    if not math.isfinite(mean):
        raise SNNInitError(f"mean must be finite, got {mean!r}")
    theta_arr = np.asarray(theta, dtype=np.float64)
    if np.isnan(theta_arr).any():
        raise SNNInitError(f"theta must not be NaN, got {theta!r}")
    return (mean - theta_arr) / std


def firing_probability(theta: ArrayLike, mean: float = 0.0, std: float = 1.0) -> float | npt.NDArray[np.float64]:
    r"""Probability that a Gaussian membrane potential exceeds the threshold, :math:`P(u > \theta)`.

    Eq. 12 of Micheli et al. (2024): for :math:`u \sim \mathcal{N}(\mu_u, \sigma_u^2)`,
    :math:`P(u > \theta) = \tfrac12 \operatorname{erfc}((\theta - \mu_u) / (\sigma_u \sqrt 2))`.

    Negative thresholds are legal and give :math:`P > 1/2`; an infinite threshold gives 0 or 1.

    Args:
        theta: Threshold :math:`\theta`, a number or an array of per-neuron thresholds.
        mean: Mean :math:`\mu_u` of the membrane potential.
        std: Standard deviation :math:`\sigma_u` of the membrane potential (> 0).

    Returns:
        :math:`P(u > \theta)`: a float for a scalar ``theta``, an array of the same shape otherwise.

    Raises:
        SNNInitError: If ``theta`` is NaN or ``std`` is not positive and finite.

    Examples:
        >>> round(firing_probability(1.0), 6)
        0.158655
        >>> firing_probability(0.0)
        0.5
    """
    p = special.ndtr(_standardised_margin(theta, mean, std))
    return float(p) if np.ndim(p) == 0 else p


def log_firing_probability(theta: ArrayLike, mean: float = 0.0, std: float = 1.0) -> float | npt.NDArray[np.float64]:
    r"""Natural logarithm of :math:`P(u > \theta)`, finite even where the probability underflows.

    Args:
        theta: Threshold :math:`\theta`, a number or an array of per-neuron thresholds.
        mean: Mean :math:`\mu_u` of the membrane potential.
        std: Standard deviation :math:`\sigma_u` of the membrane potential (> 0).

    Returns:
        :math:`\log P(u > \theta)`, a float or an array like ``theta``.

    Examples:
        >>> round(log_firing_probability(40.0), 1)
        -804.6
    """
    logp = special.log_ndtr(_standardised_margin(theta, mean, std))
    return float(logp) if np.ndim(logp) == 0 else logp


def mean_firing_probability(theta: ArrayLike, mean: float = 0.0, std: float = 1.0) -> float:
    r"""Mean of :math:`P(u > \theta_i)` over a population of neurons with thresholds :math:`\theta_i`.

    With per-neuron thresholds, the expected squared input to the next layer is the average of the
    neurons' own firing probabilities, :math:`E[x^2] = \frac1N \sum_i P(u > \theta_i)`, which is what
    this returns. For a scalar ``theta`` it equals :func:`firing_probability`.

    Args:
        theta: Threshold(s) :math:`\theta_i` of the presynaptic neurons.
        mean: Mean :math:`\mu_u` of the membrane potential.
        std: Standard deviation :math:`\sigma_u` of the membrane potential (> 0).

    Returns:
        The mean firing probability, a float in [0, 1].

    Raises:
        SNNInitError: If ``theta`` is empty or NaN, or ``std`` is not positive.
    """
    if np.size(theta) == 0:
        raise SNNInitError("theta must hold at least one threshold, got an empty array")
    return float(np.mean(firing_probability(theta, mean, std)))
