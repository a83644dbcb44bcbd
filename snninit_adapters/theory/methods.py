r"""Weight laws of the paper's method and of six of its seven baselines.

The seventh, Rossbroich et al. (2022), is in :mod:`snninit_adapters.theory.fluctuation`. Each law is
pure: it maps a :class:`~snninit_adapters.theory.law.LayerContext` to a
:class:`~snninit_adapters.theory.law.WeightLaw`. Summary, as :math:`\operatorname{std} \cdot \sqrt n`
at :math:`\theta = 1` with :math:`n = m`:

============  ==========================================  ==================  ===============
method        law                                         std * sqrt(n)       confidence
============  ==========================================  ==================  ===============
micheli2024   N(0, 1 / (n P(u > theta)))                   2.511               high
kaiming       N(0, 2 / n)                                  1.414               high
glorot        N(0, 2 / (n + m))                            1.0                 high
lee2016       U(+-sqrt(3 / n))                             1.0                 high (weights)
bellec2018    N(0, 1 / n)                                  1.0                 high
zenke2021     N(0, omega^2 / n), omega = 1                 1.0                 provisional
ding2022      N(0, 2 theta^2 / n)                          1.414               provisional
============  ==========================================  ==================  ===============
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory.firing import ArrayLike, firing_probability
from snninit_adapters.theory.law import Distribution, LayerContext, TemporalInput, WeightLaw
from snninit_adapters.theory.meanfield import DataKind, Dynamics, weight_variance_of_gain
from snninit_adapters.theory.temporal import input_layer_gain, temporal_weight_variance
from snninit_adapters.theory.variance import snn_weight_variance, weight_variance

__all__ = [
    "bellec2018_law",
    "ding2022_law",
    "glorot_law",
    "kaiming_law",
    "lee2016_law",
    "lee2016_threshold",
    "micheli2024_law",
    "micheli2024_temporal_law",
    "zenke2021_law",
]


def _as_scalar_threshold(theta: ArrayLike | None, role: str) -> float:
    if theta is None:
        raise SNNInitError(f"this method needs the {role} threshold, but the layer has none")
    return float(np.mean(np.asarray(theta, dtype=np.float64)))


def micheli2024_law(context: LayerContext, *, distribution: Distribution = "normal") -> WeightLaw:
    r"""The paper's initialisation: zero-mean weights that keep the membrane variance constant.

    Micheli, Booij, van Gemert & Tömen (2024), "Deep activity propagation via weight initialization in
    spiking neural networks", Eq. 10, generalised to a downstream input gain :math:`g` and spike
    amplitude :math:`a`:

    .. math::

        \operatorname{Var}[w] = \frac{\sigma_\text{target}^2}{g^2\, n\, E[x^2]}, \qquad
        E[x^2] = a^2 P(u_\text{pre} > \theta_\text{pre})

    For a layer that reads a real-valued signal, :math:`E[x^2]` is ``context.input_second_moment``.
    With :math:`g = a = 1` and unit target variance this is exactly Eq. 10.

    Args:
        context: The layer's fan-in, presynaptic threshold(s), gain and target variance.
        distribution: ``"normal"`` (the paper's) or ``"uniform"`` with the same variance.

    Returns:
        The weight law.
    """
    if context.input_second_moment is not None:
        variance = weight_variance(
            context.fan_in,
            context.input_second_moment,
            target_variance=context.target_variance,
            input_gain=context.input_gain,
        )
    else:
        if context.theta_pre is None:
            raise SNNInitError("a layer needs either a presynaptic threshold or the second moment of its input")
        variance = snn_weight_variance(context.fan_in, context.theta_pre, target_variance=context.target_variance)
        variance /= context.input_gain**2 * context.spike_amplitude**2
    return WeightLaw.from_variance(distribution, variance)


def kaiming_law(context: LayerContext, *, distribution: Distribution = "normal") -> WeightLaw:
    r"""Kaiming/He initialisation for ReLU networks: :math:`\operatorname{Var}[w] = 2 / n`.

    He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers", Eq. 10. Equal to the paper's method at
    :math:`\theta = 0`; too small for any positive threshold (Micheli et al. 2024, Eq. 11).

    Args:
        context: The layer (only ``fan_in`` is used).
        distribution: ``"normal"`` (as ``torch.nn.init.kaiming_normal_``) or ``"uniform"``.

    Returns:
        The weight law.
    """
    return WeightLaw.from_variance(distribution, 2.0 / context.fan_in)


def glorot_law(context: LayerContext, *, distribution: Distribution = "normal") -> WeightLaw:
    r"""Glorot/Xavier initialisation: :math:`\operatorname{Var}[w] = 2 / (n + m)`.

    Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward neural networks",
    Eq. 16 (their "normalized initialization" is uniform; the paper's code uses the normal form, the default).

    Args:
        context: The layer (``fan_in`` and ``fan_out`` are used).
        distribution: ``"normal"`` or ``"uniform"``.

    Returns:
        The weight law.
    """
    return WeightLaw.from_variance(distribution, 2.0 / (context.fan_in + context.fan_out))


def lee2016_law(context: LayerContext) -> WeightLaw:
    r"""Lee, Delbruck & Pfeiffer (2016): :math:`w \sim U(-\sqrt{3/M}, \sqrt{3/M})`, so Var[w] = 1/M.

    "Training deep spiking neural networks using backpropagation", Front. Neurosci. 10:508, Sec. 2.3.
    :math:`M` is the number of synapses per neuron, the fan-in. The method also sets thresholds; see
    :func:`lee2016_threshold`.

    Args:
        context: The layer (only ``fan_in`` is used).

    Returns:
        The weight law.
    """
    return WeightLaw.from_variance("uniform", 1.0 / context.fan_in)


def lee2016_threshold(fan_in: int, alpha: float) -> float:
    r"""Threshold prescribed by Lee et al. (2016): :math:`\theta = \alpha \sqrt{3 / M}`.

    Provisional: the rule is recalled from the paper, not checked against its text, and the paper
    leaves :math:`\alpha` a free constant (public reimplementations use 2 and 5), so it must be given.

    Args:
        fan_in: Number of synapses per neuron :math:`M`.
        alpha: The constant :math:`\alpha > 0`.

    Returns:
        The threshold for the neurons this layer drives.
    """
    if not (math.isfinite(alpha) and alpha > 0):
        raise SNNInitError(f"alpha must be a positive finite number, got {alpha!r}")
    if fan_in < 1:
        raise SNNInitError(f"fan_in must be a positive integer, got {fan_in!r}")
    return alpha * math.sqrt(3.0 / fan_in)


def bellec2018_law(context: LayerContext) -> WeightLaw:
    r"""Bellec et al. (2018), LSNN: :math:`w \sim \mathcal{N}(0, 1/n)`.

    "Long short-term memory and learning-to-learn in networks of spiking neurons"; official code
    ``lsnn/spiking_models.py`` draws ``randn(n_in, n_rec) / sqrt(n_in)``.

    Args:
        context: The layer (only ``fan_in`` is used).

    Returns:
        The weight law.
    """
    return WeightLaw.from_variance("normal", 1.0 / context.fan_in)


def zenke2021_law(context: LayerContext, *, gain: float = 1.0) -> WeightLaw:
    r"""Zenke & Vogels (2021): :math:`w \sim \mathcal{N}(0, \omega^2 / n)` with a scale :math:`\omega`.

    "The remarkable robustness of surrogate gradient learning for instilling complex function in spiking
    neural networks", Neural Computation 33:899.

    Provisional: reconstructed from the Zenke lab's public code (a zero-mean Gaussian with std
    :math:`\omega / \sqrt n`), not from the paper's Methods; :math:`\omega = 1` by default, which equals
    :func:`bellec2018_law`.

    Args:
        context: The layer (only ``fan_in`` is used).
        gain: The scale :math:`\omega`.

    Returns:
        The weight law.
    """
    if not (math.isfinite(gain) and gain > 0):
        raise SNNInitError(f"gain must be a positive finite number, got {gain!r}")
    return WeightLaw.from_variance("normal", gain**2 / context.fan_in)


def ding2022_law(context: LayerContext, *, slope: float | None = None) -> WeightLaw:
    r"""Ding, Zhang, Yu & Huang (2022): initialise from the slant asymptote of the neuron's response curve.

    "Accelerating training of deep spiking neural networks with parameter initialization". The neuron's
    firing rate under a constant input :math:`x` approaches :math:`r \approx k x` with slope
    :math:`k = 1/\theta` (integrate-and-fire, subtract reset); a He-style variance balance for this
    ReLU-like response gives

    .. math::

        \operatorname{Var}[w] = \frac{2}{n k^2} = \frac{2 \theta^2}{n}.

    Provisional: reconstructed from the paper's abstract; the exact slope for a leaky neuron and the
    distribution are not verified. Here :math:`\theta` is the threshold of the neurons the layer drives.

    Args:
        context: The layer (``fan_in`` and ``theta_post`` are used).
        slope: The asymptotic slope :math:`k`; by default :math:`1/\theta_\text{post}`.

    Returns:
        The weight law.
    """
    if slope is None:
        theta = _as_scalar_threshold(context.theta_post, "postsynaptic")
        if theta <= 0:
            raise SNNInitError(
                f"ding2022 takes the response slope 1/theta from the driven neurons' threshold, "
                f"which is {theta!r}; pass slope= explicitly for a non-positive threshold"
            )
        slope = 1.0 / theta
    if not (math.isfinite(slope) and slope > 0):
        raise SNNInitError(f"slope must be a positive finite number, got {slope!r}")
    return WeightLaw.from_variance("normal", 2.0 / (context.fan_in * slope**2))


def micheli2024_temporal_law(
    context: LayerContext,
    *,
    distribution: Distribution = "normal",
    rate: float | None = None,
    steps: int | None = None,
    data: DataKind | None = None,
    dynamics: Dynamics | None = None,
) -> WeightLaw:
    r"""The temporal rule: weights that keep the time-averaged rate constant over depth over :math:`T` steps.

    Beyond Micheli et al. (2024), whose Eq. 10 keeps :math:`\operatorname{Var}[u] = 1` at one step: a
    layer fed by spikes at the deep fixed point gets the propagation gain :math:`\kappa^*` whose
    fixed point has the target rate (:func:`~snninit_adapters.theory.temporal_weight_variance`); a layer
    reading the data or an encoding layer's spikes gets the gain with which its neurons fire at that
    rate too (:func:`~snninit_adapters.theory.input_layer_gain`). ``context.target_variance`` (a share
    of 1 where branches are summed) scales :math:`\kappa`. Without dynamics (a readout layer, or neurons
    whose leak is not known) this is Eq. 10.

    Args:
        context: The layer; ``context.temporal`` holds the driven neurons' dynamics and what it reads.
        distribution: ``"normal"`` or ``"uniform"``.
        rate: The time-averaged rate to keep (default: the paper's first-step rate
            :math:`Q(\theta)` of the driven neurons).
        steps: :math:`T`, overriding the dynamics' own.
        data: How a layer reading the model input sees it over time: ``"repeated"`` (a static input
            presented at every step; the default, with a note) or ``"independent"`` (drawn afresh at
            every step, e.g. rate-coded spikes or events; its measured mean enters).
        dynamics: The driven neurons' dynamics when the context has none (a bare weight tensor).

    Returns:
        The weight law, with the rule's notes (a target lifted to the floor, an unstable fixed point).
    """
    temporal = context.temporal
    if temporal is None and dynamics is not None:
        temporal = TemporalInput(dynamics)
    if temporal is None:  # a readout, or neurons whose dynamics are not known (their reader says so)
        return micheli2024_law(context, distribution=distribution)
    dyn = temporal.dynamics if steps is None else replace(temporal.dynamics, steps=steps)
    target = rate if rate is not None else float(firing_probability(dyn.theta))
    rule = temporal_weight_variance(context.fan_in, dyn, target)
    notes = list(rule.notes())
    if temporal.reads == "spikes":
        variance = rule.deep / context.spike_amplitude**2
    else:
        source = temporal.source
        if temporal.reads == "data" and data is None:
            notes.append(
                "its input is taken to be the same at every step (data='repeated'); pass data='independent' "
                "for an input drawn afresh at every step (rate-coded spikes, events)"
            )
        encoded = temporal.reads == "encoded" and source is not None
        reads = replace(source, steps=dyn.steps) if encoded and source is not None else (data or "repeated")
        kappa = input_layer_gain(dyn, round(rule.rate, 6), reads, round(temporal.mean_square, 4))
        if kappa is None:
            kappa = 1e3
            notes.append(f"no gain up to 1e3 makes this layer's neurons fire at {rule.rate:.3g} on their input")
        moment = context.input_second_moment if temporal.reads == "data" else context.spike_amplitude**2
        variance = weight_variance_of_gain(kappa, context.fan_in, dyn) / (moment or 1.0)
    return WeightLaw.from_variance(distribution, variance * context.target_variance, notes=tuple(notes))
