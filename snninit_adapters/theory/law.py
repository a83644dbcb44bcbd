"""What a weight law may know about a layer, and the law itself: the distribution its weights are drawn from.

Every initialisation method in this library is a pure function ``law(context, **options) -> WeightLaw``.
Keeping the number-crunching free of tensors lets a whole model's plan be computed, checked and
reported before a single weight is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory.firing import ArrayLike
from snninit_adapters.theory.meanfield import Dynamics

__all__ = ["DISTRIBUTIONS", "Distribution", "LayerContext", "Reads", "TemporalInput", "WeightLaw"]

Reads = Literal["data", "encoded", "spikes"]

Distribution = Literal["normal", "uniform"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("normal", "uniform")


@dataclass(frozen=True)
class TemporalInput:
    """What a multi-step law needs beyond one step: the driven neurons' dynamics and what the layer reads.

    Attributes:
        dynamics: The driven neurons' leak, threshold, reset, input gain and steps.
        reads: ``"data"`` (the model input), ``"encoded"`` (spikes of neurons that read the data
            directly, described by ``source``) or ``"spikes"`` (spikes of neurons fed by weight layers
            of the same rule, at its deep fixed point).
        source: For ``"encoded"``: the encoding neurons' dynamics, their input std in ``input_std``.
        mean_square: For ``"data"``: :math:`E[x]^2 / E[x^2]` of the input, measured (0 when not known).
    """

    dynamics: Dynamics
    reads: Reads = "spikes"
    source: Dynamics | None = None
    mean_square: float = 0.0


@dataclass(frozen=True)
class LayerContext:
    """The facts about one weight layer that a weight law may use.

    Attributes:
        fan_in: Number of inputs :math:`n` summed into one output (or the fan-out, for ``mode="fan_out"``).
        fan_out: Number of outputs one input feeds (Glorot's :math:`m`).
        theta_pre: Threshold(s) of the presynaptic neurons whose spikes feed the layer, in units where
            their membrane has the target variance; None when the layer reads a real-valued signal.
        theta_post: Threshold(s) of the neurons the layer drives; None for a readout layer.
        input_second_moment: :math:`E[x^2]` of a real-valued input; None for spiking input, where it
            follows from ``theta_pre`` and ``spike_amplitude``.
        spike_amplitude: Amplitude :math:`a` of one presynaptic spike (1 for binary spikes).
        input_gain: Coefficient :math:`g` with which the synaptic input enters the downstream membrane.
        target_variance: Variance the downstream membrane should have, 1 in the paper.
        temporal: The dynamics over time, for multi-step laws (None: not known, or one-step laws).
    """

    fan_in: int
    fan_out: int
    theta_pre: ArrayLike | None = 1.0
    theta_post: ArrayLike | None = 1.0
    input_second_moment: float | None = None
    spike_amplitude: float = 1.0
    input_gain: float = 1.0
    target_variance: float = 1.0
    temporal: TemporalInput | None = None


@dataclass(frozen=True)
class WeightLaw:
    """A weight distribution: normal or uniform, given by its mean and standard deviation.

    Attributes:
        distribution: ``"normal"`` or ``"uniform"``.
        std: Standard deviation of the weights (>= 0).
        mean: Mean of the weights.
        notes: What the law's user should know (a target it could not keep, an assumption it made).
    """

    distribution: Distribution
    std: float
    mean: float = 0.0
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise SNNInitError(
                f"unknown distribution {self.distribution!r}; valid distributions are {', '.join(DISTRIBUTIONS)}"
            )
        if not (math.isfinite(self.std) and self.std >= 0):
            raise SNNInitError(f"a weight law needs a finite, non-negative std, got {self.std!r}")
        if not math.isfinite(self.mean):
            raise SNNInitError(f"a weight law needs a finite mean, got {self.mean!r}")

    @property
    def variance(self) -> float:
        """The weight variance, ``std ** 2``."""
        return self.std**2

    @property
    def bound(self) -> float:
        """Half-width of the uniform law with this std, ``sqrt(3) * std``."""
        return math.sqrt(3.0) * self.std

    @classmethod
    def from_variance(
        cls, distribution: Distribution, variance: float, mean: float = 0.0, notes: tuple[str, ...] = ()
    ) -> WeightLaw:
        """Build the law with the given variance."""
        return cls(distribution, math.sqrt(variance), mean, notes)
