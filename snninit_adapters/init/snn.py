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
from snninit_adapters.theory import Dynamics, micheli2024_law, micheli2024_temporal_law, snn_weight_variance

__all__ = ["calculate_snn_gain", "snn_normal_", "snn_temporal_normal_", "snn_uniform_"]


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


def snn_temporal_normal_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    beta: float = 0.5,
    reset: str = "soft",
    timing: str = "before_leak",
    steps: int = 20,
    input_gain: float = 1.0,
    rate: float | None = None,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Fill ``tensor`` with the temporal rule's deep-layer law: the rate stays constant over depth and time.

    A layer fed by spikes of neurons with these dynamics, driving neurons with the same ones, gets the
    propagation gain :math:`\kappa^*` of the deep fixed point at ``rate``
    (:func:`~snninit_adapters.theory.temporal_weight_variance`):
    :math:`\operatorname{Var}[w] = \kappa^* \theta^2 / (n g^2)`.

    Args:
        tensor: An n-dimensional weight.
        threshold: The neurons' threshold :math:`\theta` (a float; a tensor is averaged).
        beta: Their leak per step.
        reset: ``"soft"``, ``"hard"`` or ``"none"``.
        timing: For a soft reset, ``"before_leak"`` (SpikingJelly, Norse) or ``"after_leak"`` (Eq. 13, snnTorch).
        steps: Time steps :math:`T`.
        input_gain: The driven neurons' input gain :math:`g`.
        rate: The time-averaged rate to keep (default :math:`Q(\theta)`).
        mode: ``"fan_in"`` or ``"fan_out"``.
        target_variance: Scales :math:`\kappa` (a share of 1 for a branch of a sum).
        generator: the torch Generator to sample from (default: None)

    Returns:
        ``tensor``, filled.

    Examples:
        >>> w = torch.empty(1000, 1000)
        >>> _ = snn_temporal_normal_(w, 1.0, beta=0.0, reset="hard", steps=5)  # memoryless: Eq. 10
        >>> round(float(w.std() * 1000 ** 0.5), 1)
        2.5
    """
    theta = float(threshold_value(threshold) if not isinstance(threshold, torch.Tensor) else threshold.mean())
    dynamics = Dynamics(beta=beta, theta=theta, reset=reset, timing=timing, gain=input_gain, steps=steps)  # type: ignore[arg-type]
    return initialize_(
        tensor,
        micheli2024_temporal_law,
        function="snn_temporal_normal_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={"distribution": "normal", "dynamics": dynamics, "rate": rate},
    )
