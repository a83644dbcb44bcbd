r"""The mean-field layer map of a deep LIF network over :math:`T` steps: the dynamics, and one layer's map.

Given a layer's input over the steps, :math:`X` (:math:`n \times T`, spikes or real values), the
:math:`T`-vectors of input currents :math:`(W X)_i` of its neurons are i.i.d.
:math:`\mathcal N(0, \operatorname{Var}[w] X^\top X)` over zero-mean Gaussian weights: the layer
depends on its input only through the :math:`T \times T` matrix :math:`C = X^\top X / n` of
co-occurrences :math:`E[x_t x_s]`, and maps it to the co-occurrences of its own spikes
(:func:`layer_map`). One layer costs :math:`O(n T^2)` rather than :math:`O(n^2 T)`; with many sampled
neurons it is the infinite-width (dynamic mean-field) map. The samples are a scrambled Sobol sequence,
fixed, and the current's square root is triangular, so step 1 is sampled along the best-stratified
coordinate.

Scale invariance: scaling :math:`u`, :math:`W` and :math:`\theta` together leaves every spike
unchanged, so spike statistics depend on the propagation gain
:math:`\kappa = n \operatorname{Var}[w] g^2 / \theta^2` alone (:func:`propagation_gain`); the map
works in units of :math:`\theta = 1`, where the currents are :math:`\mathcal N(0, \kappa C)`.

Membranes start at rest, so the first step follows the one-step map :math:`r \mapsto Q(1/\sqrt{\kappa r})`
whatever the leak and reset; it has a fixed point :math:`r > 0` only for
:math:`\kappa \ge \kappa_c = 1 / \max_a a^2 Q(a)` (:func:`critical_gain`), and its slope there,
the factor by which a perturbation of step 1 shrinks per layer, is :func:`first_step_slope`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats
from scipy.stats import qmc

from snninit_adapters.errors import SNNInitError

__all__ = [
    "SAMPLES",
    "DataKind",
    "Dynamics",
    "InputKind",
    "Matrix",
    "Reset",
    "Timing",
    "critical_gain",
    "first_layer",
    "first_step_slope",
    "input_cooccurrence",
    "integrate",
    "layer_map",
    "propagation_gain",
    "repeated_input",
    "stable_gain",
    "time_averaged_rate",
    "weight_variance_of_gain",
]

Reset = Literal["soft", "hard", "none"]
Timing = Literal["after_leak", "before_leak"]
InputKind = Literal["constant", "bernoulli"]
DataKind = Literal["repeated", "independent"]
Matrix = npt.NDArray[np.float64]

SAMPLES = 2**13
"""Sampled neurons of the mean-field map (a scrambled Sobol sequence)."""


@dataclass(frozen=True)
class Dynamics:
    r"""A deep LIF network's neuron and its input, in the units of :math:`\theta`.

    Attributes:
        beta: Leak :math:`\beta` per step.
        theta: Threshold :math:`\theta` (only scales the reported membrane variance).
        reset: ``"soft"`` (subtract :math:`\theta`), ``"hard"`` (to 0) or ``"none"``.
        timing: For a soft reset: ``"after_leak"`` (Eq. 13) or ``"before_leak"``.
        gain: The input gain :math:`g` (only converts :math:`\kappa` to a weight variance).
        steps: Time steps :math:`T`.
        input: ``"constant"``: an encoding layer whose membranes take a constant current
            :math:`\mathcal N(0, \sigma_\text{in}^2)` at every step (the paper's setup); ``"bernoulli"``:
            the first weight layer reads i.i.d. Bernoulli spikes.
        input_std: :math:`\sigma_\text{in}`, the encoding membrane's current std in membrane units.
        input_rate: The Bernoulli rate (None: the paper's :math:`Q(\theta / \sigma_\text{in})`).
    """

    beta: float = 0.5
    theta: float = 1.0
    reset: Reset = "soft"
    timing: Timing = "after_leak"
    gain: float = 1.0
    steps: int = 20
    input: InputKind = "constant"
    input_std: float = 1.0
    input_rate: float | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= self.beta <= 1.0 and math.isfinite(self.theta) and self.theta > 0):
            raise SNNInitError(
                f"dynamics need 0 <= beta <= 1 and theta > 0, got beta={self.beta!r}, theta={self.theta!r}"
            )
        if self.reset not in ("soft", "hard", "none") or self.timing not in ("after_leak", "before_leak"):
            raise SNNInitError(f"unknown reset {self.reset!r} or timing {self.timing!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1) or self.input not in ("constant", "bernoulli"):
            raise SNNInitError(f"dynamics need steps >= 1 and input 'constant' or 'bernoulli', got {self.steps!r}")
        if not (self.gain > 0 and self.input_std > 0):
            raise SNNInitError(f"gain and input_std must be positive, got {self.gain!r}, {self.input_std!r}")

    @property
    def memoryless(self) -> bool:
        """One step forgets the last: no leak, and no reset that carries over (Eq. 10 is then exact)."""
        return self.beta == 0.0 and not (self.reset == "soft" and self.timing == "after_leak")

    @property
    def bernoulli_rate(self) -> float:
        """The rate of the Bernoulli input."""
        if self.input_rate is not None:
            return float(self.input_rate)
        return float(special.ndtr(-self.theta / self.input_std))


@functools.cache
def _normals(steps: int, samples: int = SAMPLES) -> Matrix:
    """Fixed standard normal samples (``steps`` x ``samples``) from a scrambled Sobol sequence."""
    points = qmc.Sobol(d=steps, scramble=True, seed=12345).random(samples)
    return np.ascontiguousarray(stats.norm.ppf(np.clip(points, 1e-12, 1 - 1e-12)).T)


def _factor(covariance: Matrix) -> Matrix:
    """A lower-triangular square root ``L`` (``L L^T`` = the PSD matrix, up to a 1e-10 relative jitter).

    Triangular, so step 1's current is the first Sobol coordinate alone, the best stratified one: the
    first step, where the propagation threshold acts, is sampled to about 1 / SAMPLES.
    """
    size = covariance.shape[0]
    jitter = 1e-10 * max(float(np.trace(covariance)) / size, 1e-300)
    return np.linalg.cholesky((covariance + covariance.T) / 2 + jitter * np.eye(size))


def integrate(current: Matrix, dyn: Dynamics) -> tuple[Matrix, Matrix]:
    """Run the LIF over the steps (rows) for every neuron (columns), in units of theta = 1 (currents too).

    Returns:
        (spikes as 0/1 floats, membranes before the reset), both steps x samples.
    """
    steps, samples = current.shape
    u = np.zeros(samples)
    fired = np.zeros(samples)
    spikes = np.empty((steps, samples))
    membranes = np.empty((steps, samples))
    for t in range(steps):
        if dyn.reset == "hard":
            u *= 1.0 - fired
        elif dyn.reset == "soft" and dyn.timing == "before_leak":
            u -= fired
        u *= dyn.beta
        if dyn.reset == "soft" and dyn.timing == "after_leak":
            u -= fired
        u += current[t]
        membranes[t] = u
        np.greater(u, 1.0, out=spikes[t])
        fired = spikes[t]
    return spikes, membranes


def _moments(spikes: Matrix) -> Matrix:
    return np.asarray(spikes @ spikes.T / spikes.shape[1])


def time_averaged_rate(c: Matrix) -> float:
    """The time-averaged rate of spike trains with co-occurrences ``c`` (the mean of its diagonal)."""
    return float(np.trace(c)) / int(c.shape[0])


def repeated_input(second_moment: float, steps: int) -> Matrix:
    """The co-occurrences of a real-valued input repeated at every step: :math:`E[x^2]` everywhere."""
    return np.full((steps, steps), float(second_moment))


def input_cooccurrence(reads: DataKind | Dynamics, steps: int, *, mean_square: float = 0.0) -> Matrix:
    r"""The co-occurrences of a first layer's input of unit :math:`E[x^2]`, or of an encoding layer's spikes.

    Args:
        reads: ``"repeated"`` (the same input at every step: all ones), ``"independent"`` (drawn afresh
            at every step: 1 on the diagonal, :math:`E[x]^2 / E[x^2]` off it; Bernoulli spikes at rate
            :math:`p` have :math:`p`), or the encoding neurons' dynamics.
        steps: :math:`T`.
        mean_square: :math:`E[x]^2 / E[x^2]` of independent data, in [0, 1].

    Returns:
        The :math:`T \times T` matrix.
    """
    if isinstance(reads, Dynamics):
        return first_layer(replace(reads, steps=steps))[0]
    if reads == "repeated":
        return repeated_input(1.0, steps)
    if reads == "independent":
        if not 0.0 <= mean_square <= 1.0:
            raise SNNInitError(f"E[x]^2 / E[x^2] lies in [0, 1], got {mean_square!r}")
        return np.full((steps, steps), float(mean_square)) + (1.0 - mean_square) * np.eye(steps)
    raise SNNInitError(f"data must be 'repeated' or 'independent', got {reads!r}")


def first_layer(dyn: Dynamics) -> tuple[Matrix, float]:
    """The spike co-occurrence matrix :math:`C_1` the first weight layer reads, and its time-averaged rate.

    Args:
        dyn: The dynamics (its ``input`` says what the first layer reads).

    Returns:
        ``(C_1, r_1)``.
    """
    if dyn.input == "bernoulli":
        p = dyn.bernoulli_rate
        matrix = np.full((dyn.steps, dyn.steps), p * p)
        np.fill_diagonal(matrix, p)
        return matrix, p
    z = _normals(dyn.steps)[0] * (dyn.input_std / dyn.theta)
    spikes, _ = integrate(np.broadcast_to(z, (dyn.steps, z.size)), dyn)
    return _moments(spikes), float(spikes.mean())


def layer_map(c: Matrix, kappa: float, dyn: Dynamics) -> tuple[Matrix, Matrix]:
    r"""One layer of the dynamic mean-field map: input co-occurrences :math:`C` -> output ones.

    The currents of the layer's neurons are :math:`\mathcal N(0, \kappa C)` (units of :math:`\theta`).

    Args:
        c: The input spike trains' co-occurrence matrix (:math:`T \times T`).
        kappa: The propagation gain.
        dyn: The dynamics.

    Returns:
        The output co-occurrence matrix, and the sampled membranes (steps x samples, units of :math:`\theta`).
    """
    current = _factor(kappa * c) @ _normals(dyn.steps)
    spikes, membranes = integrate(current, dyn)
    return _moments(spikes), membranes


def propagation_gain(fan_in: int, weight_variance: float, dyn: Dynamics) -> float:
    r""":math:`\kappa = n \operatorname{Var}[w] g^2 / \theta^2`: the one number deep spike statistics depend on.

    Args:
        fan_in: :math:`n`.
        weight_variance: :math:`\operatorname{Var}[w]`.
        dyn: The dynamics (gain and threshold).

    Returns:
        :math:`\kappa`.

    Examples:
        >>> round(propagation_gain(1000, 6.3030 / 1000, Dynamics()), 3)
        6.303
    """
    return fan_in * weight_variance * dyn.gain**2 / dyn.theta**2


def weight_variance_of_gain(kappa: float, fan_in: int, dyn: Dynamics) -> float:
    r"""The weight variance with propagation gain :math:`\kappa`: :math:`\kappa \theta^2 / (n g^2)`."""
    return kappa * dyn.theta**2 / (fan_in * dyn.gain**2)


@functools.cache
def critical_gain() -> tuple[float, float]:
    r"""The one-step map's critical gain :math:`\kappa_c = 1/\max_a a^2 Q(a)`, and the :math:`a` at the maximum.

    Returns:
        ``(kappa_c, a)``.

    Examples:
        >>> [round(value, 2) for value in critical_gain()]
        [6.03, 1.19]
    """
    found = optimize.minimize_scalar(lambda a: -(a * a * special.ndtr(-a)), bounds=(0.1, 5.0), method="bounded")
    return float(1.0 / -found.fun), float(found.x)


def _slope(a: float) -> float:
    return float(a * stats.norm.pdf(a) / (2.0 * special.ndtr(-a)))


def first_step_slope(kappa: float) -> float:
    r"""The one-step map's slope at its stable fixed point: how a perturbation of step 1 shrinks per layer.

    At the fixed point :math:`r = Q(a)` with :math:`a^2 Q(a) = 1/\kappa` (the root below
    :math:`a_c`), the slope of :math:`r \mapsto Q(1/\sqrt{\kappa r})` is :math:`a \varphi(a) / (2 Q(a))`.

    Args:
        kappa: The propagation gain.

    Returns:
        The slope (1 at :math:`\kappa_c`; ``inf`` below it, where there is no fixed point).

    Examples:
        >>> round(first_step_slope(6.303), 3)  # Eq. 10 at theta = 1
        0.763
    """
    kappa_c, a_c = critical_gain()
    if kappa < kappa_c:
        return math.inf
    a = optimize.brentq(lambda x: x * x * special.ndtr(-x) - 1.0 / kappa, 1e-9, a_c)
    return _slope(a)


def stable_gain(slope: float) -> float:
    r"""The smallest gain whose first step shrinks perturbations by ``slope`` per layer (:math:`\le 1`).

    Examples:
        >>> round(stable_gain(0.8), 3)
        6.217
    """
    kappa_c, a_c = critical_gain()
    if slope >= 1.0:
        return kappa_c
    a = optimize.brentq(lambda x: _slope(x) - slope, 1e-6, a_c)
    return float(1.0 / (a * a * special.ndtr(-a)))
