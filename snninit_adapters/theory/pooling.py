r"""What max-pooling does to a Gaussian membrane: the maximum of :math:`k` independent normal values.

A max-pool between a layer and its neurons hands each neuron the largest of :math:`k` (4 for a 2 x 2
window) of the layer's outputs. If they were independent :math:`\mathcal N(0, \sigma^2)`, the neuron's
membrane would be their maximum, with distribution function :math:`\Phi(u/\sigma)^k`: its mean and
variance are :math:`m_k \sigma` and :math:`v_k \sigma^2` (:func:`max_of_normals`; :math:`m_4 = 1.0294`,
:math:`v_4 = 0.4917`), and it fires at :math:`1 - \Phi(\theta/\sigma)^k` instead of
:math:`1 - \Phi(\theta/\sigma)` (:func:`max_pool_firing_probability`). Neighbouring conv outputs share
inputs, so real windows are correlated and lie between one value and the independent maximum; the
numbers bound what the one-step rule leaves out.
"""

from __future__ import annotations

import functools
import math

from scipy import integrate, special

__all__ = ["max_of_normals", "max_pool_firing_probability"]


@functools.cache
def max_of_normals(k: int) -> tuple[float, float]:
    r"""Mean and variance of the maximum of ``k`` independent standard normal values.

    .. math::

        m_k = \int u\, k \varphi(u) \Phi(u)^{k-1} du, \qquad
        v_k = \int u^2\, k \varphi(u) \Phi(u)^{k-1} du - m_k^2

    Args:
        k: How many values (a pooling window's size).

    Returns:
        ``(m_k, v_k)``.

    Raises:
        ValueError: If ``k`` is not a positive integer.

    Examples:
        >>> [round(value, 4) for value in max_of_normals(4)]
        [1.0294, 0.4917]
        >>> max_of_normals(1)
        (0.0, 1.0)
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k == 1:
        return 0.0, 1.0

    def density(u: float) -> float:
        return float(k * math.exp(-0.5 * u * u) / math.sqrt(2 * math.pi) * special.ndtr(u) ** (k - 1))

    mean = integrate.quad(lambda u: u * density(u), -12, 12, limit=200)[0]
    second = integrate.quad(lambda u: u * u * density(u), -12, 12, limit=200)[0]
    return mean, second - mean * mean


def max_pool_firing_probability(theta: float, k: int) -> float:
    r"""P(the maximum of ``k`` independent standard normal values exceeds ``theta``): :math:`1 - \Phi(\theta)^k`.

    Args:
        theta: The threshold in units of the values' std.
        k: How many values.

    Returns:
        The probability.

    Examples:
        >>> round(max_pool_firing_probability(1.0, 4), 4)
        0.4989
    """
    return float(-special.expm1(k * special.log_ndtr(theta)))
