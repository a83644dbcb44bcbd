r"""The paper's initialisation as ``torch.nn.init``-style functions (Micheli et al. 2024, Eq. 10).

.. math::

    w \sim \mathcal{N}\!\left(0, \frac{\sigma_\text{target}^2}{n\, P(u > \theta)}\right), \qquad
    P(u > \theta) = \tfrac12 \operatorname{erfc}(\theta / \sqrt 2)

``threshold`` is the threshold of the presynaptic neurons whose spikes feed the layer. It may be a
float or a tensor of per-neuron thresholds; then :math:`P` is the mean of the neurons' own firing
probabilities, which is the expected squared input :math:`E[x^2]` that Eq. 7 needs.
"""

from __future__ import annotations

import math

import torch

from snninit_adapters.init._tensor import Threshold, initialize_, threshold_value
from snninit_adapters.theory import micheli2024_law, snn_weight_variance

__all__ = ["calculate_snn_gain", "snn_normal_", "snn_uniform_"]


def snn_normal_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
    input_second_moment: float | None = None,
) -> torch.Tensor:
    r"""Fill ``tensor`` with the paper's zero-mean normal law, in place, and return it.

    Micheli, Booij, van Gemert & Tömen (2024), "Deep activity propagation via weight initialization in
    spiking neural networks", Eq. 10:
    :math:`\operatorname{Var}[w] = \sigma_\text{target}^2 / (n\, P(u > \theta))`. At
    ``threshold=0`` this is ``torch.nn.init.kaiming_normal_``.

    Args:
        tensor: An n-dimensional weight (``Linear``: ``(out, in)``; ``ConvNd``: ``(c_out, c_in/groups, *k)``).
        threshold: Threshold(s) of the presynaptic neurons, in units of their membrane's std: a float
            or a tensor of per-neuron thresholds (their mean firing probability is used).
        mode: ``"fan_in"`` (default) keeps the forward membrane variance; ``"fan_out"`` uses the fan-out.
        target_variance: Variance the downstream membrane should have.
        generator: the torch Generator to sample from (default: None)
        input_second_moment: :math:`E[x^2]` of a real-valued input, for a layer that reads data rather
            than spikes (the first layer of the paper's CNN: 1 for normalised pixels); ``threshold`` is
            then not used. Eq. 7 gives :math:`\operatorname{Var}[w] = \sigma_\text{target}^2 / (n E[x^2])`.

    Returns:
        ``tensor``, filled.

    Raises:
        SNNInitError: For a tensor with fewer than 2 dimensions or an integer dtype, an unknown mode,
            a NaN or infinite threshold, or a threshold so high that :math:`P` underflows.

    Examples:
        >>> w = torch.empty(1000, 1000)
        >>> _ = snn_normal_(w, threshold=1.0)
        >>> round(float(w.std() * 1000 ** 0.5), 1)
        2.5
    """
    return initialize_(
        tensor,
        micheli2024_law,
        function="snn_normal_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={"distribution": "normal"},
        input_second_moment=input_second_moment,
    )


def snn_uniform_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
    input_second_moment: float | None = None,
) -> torch.Tensor:
    r"""Fill ``tensor`` from a zero-mean uniform law with the variance of :func:`snn_normal_`.

    :math:`w \sim U(-b, b)` with :math:`b = \sqrt{3 \sigma_\text{target}^2 / (n\, P(u > \theta))}`
    (Micheli et al. 2024, Eq. 10, with a uniform instead of a normal law).

    Args:
        tensor: An n-dimensional weight.
        threshold: Threshold(s) of the presynaptic neurons (float or per-neuron tensor).
        mode: ``"fan_in"`` or ``"fan_out"``.
        target_variance: Variance the downstream membrane should have.
        generator: the torch Generator to sample from (default: None)
        input_second_moment: :math:`E[x^2]` of a real-valued input; replaces the spike rate.

    Returns:
        ``tensor``, filled.
    """
    return initialize_(
        tensor,
        micheli2024_law,
        function="snn_uniform_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={"distribution": "uniform"},
        input_second_moment=input_second_moment,
    )


def calculate_snn_gain(threshold: Threshold = 1.0, *, target_variance: float = 1.0) -> float:
    r"""Gain of the paper's initialisation, so that ``std = gain / sqrt(fan_in)``.

    :math:`\text{gain} = \sigma_\text{target} / \sqrt{P(u > \theta)}`: :math:`\sqrt 2` at
    :math:`\theta = 0` (ReLU's gain in ``torch.nn.init.calculate_gain``), 2.5106 at :math:`\theta = 1`.

    Args:
        threshold: Threshold(s) of the presynaptic neurons.
        target_variance: Variance the downstream membrane should have.

    Returns:
        The gain.

    Examples:
        >>> round(calculate_snn_gain(0.0) ** 2, 12)
        2.0
    """
    return math.sqrt(snn_weight_variance(1, threshold_value(threshold), target_variance=target_variance))
