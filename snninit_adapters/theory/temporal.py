r"""Activity over depth *and* time: where a deep LIF network's layers settle, and a rule built on it.

The paper keeps :math:`\operatorname{Var}[u] = 1` at the first step and ignores the leak and the reset.
Over :math:`T` steps they decide where the activity of a deep network settles. With the layer map of
:mod:`~snninit_adapters.theory.meanfield` (spike co-occurrences :math:`C` in, :math:`C` out, depending on
the propagation gain :math:`\kappa = n \operatorname{Var}[w] g^2 / \theta^2` alone):

- **Deep layers forget their input.** Iterating the map from any input with enough activity converges
  to the same fixed point :math:`C^*(\kappa)` (:func:`deep_fixed_point`; within one basin: Eq. 13's
  ordering at small leak has several, so the rule iterates from the first layer's output): its time-averaged rate is
  where the deep layers settle, and the factor by which a perturbation shrinks per layer is its
  stability (< 1 stable; 2 for layers that alternate between two states).
- **A floor.** Below :math:`\kappa_c` the first step dies with depth and then, step after step, every
  later one (a dead step leaves the membrane at rest, so the next step follows the one-step map). The
  lowest deep rate zero-mean weights can sustain is the fixed point's near :math:`\kappa_c`, where it is
  marginal; :func:`rate_floor` takes the lowest one whose first step shrinks perturbations by 0.8 per
  layer (Eq. 10 at :math:`\theta = 1` has 0.76). No rule that sets a weight variance keeps a lower rate.
- **The rule** (:func:`temporal_weight_variance`): the deep layers get the :math:`\kappa^*` whose fixed
  point has the target rate, the first layer the gain with which, reading its actual input (an encoding
  layer's spikes, Bernoulli spikes, or the data), it fires at that rate too; a target below the floor,
  or between two fixed points the gain jumps across, is lifted, and one above what the dynamics reach
  is lowered to their highest rate, each with a note.

Reset kinds and timings (``Dynamics.reset``, ``Dynamics.timing``), for a spike :math:`s_{t-1}`:

- ``soft``, ``after_leak`` (the paper's Eq. 13; snnTorch ``Leaky`` with its default ``reset_delay``):
  :math:`u_t = \beta u_{t-1} + I_t - \theta s_{t-1}`;
- ``soft``, ``before_leak`` (SpikingJelly, Norse; snnTorch ``reset_delay=False`` approximately):
  :math:`u_t = \beta (u_{t-1} - \theta s_{t-1}) + I_t`;
- ``hard``: :math:`u_t = \beta u_{t-1} (1 - s_{t-1}) + I_t`; ``none``: :math:`u_t = \beta u_{t-1} + I_t`.

At :math:`\beta = 0` only the reset-before-leak ordering and the hard reset are memoryless; Eq. 13's
ordering is a refractory penalty even then.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory.meanfield import (
    SAMPLES,
    DataKind,
    Dynamics,
    Matrix,
    critical_gain,
    first_layer,
    input_cooccurrence,
    layer_map,
    stable_gain,
    time_averaged_rate,
    weight_variance_of_gain,
)

__all__ = [
    "STABLE",
    "FixedPoint",
    "TemporalVariance",
    "deep_fixed_point",
    "input_layer_gain",
    "matching_gain",
    "rate_floor",
    "temporal_weight_variance",
]

STABLE = 0.8
"""The first-step stability factor of the floor (Eq. 10 at theta = 1 has 0.763)."""

_MAX_LAYERS = 400  # iterations of the layer map towards a fixed point (at least 20 per step)
_TOLERANCE = 1e-6  # a fixed point moves less than this (max abs change of C) per layer
_DEAD = 1e-6  # a time-averaged rate below this is no activity
_MAX_GAIN = 1e3  # the largest propagation gain searched
_WINDOW = 8  # layers whose rates must agree for the iteration to have settled


@dataclass(frozen=True)
class FixedPoint:
    r"""Where the deep layers settle for one propagation gain.

    Attributes:
        kappa: The propagation gain.
        rate: The time-averaged firing rate (0 when the activity dies).
        rates: The rate at each step.
        variance: The membrane variance averaged over steps, in membrane units (:math:`\theta^2` times).
        stability: The factor by which a perturbation shrinks per layer near it (< 1: stable).
        period: 1, or 2 when the layers alternate between two states.
        layers: Layers the iteration took.
        cooccurrence: The fixed point's :math:`C^*` (:math:`T \times T`).
    """

    kappa: float
    rate: float
    rates: tuple[float, ...]
    variance: float
    stability: float
    period: int
    layers: int
    cooccurrence: Matrix = field(repr=False, compare=False)

    @property
    def alive(self) -> bool:
        """Whether activity survives at depth."""
        return self.rate > _DEAD


def _dense(steps: int) -> Matrix:
    """Co-occurrences of i.i.d. spikes at rate 1/2: the start of a search that must not depend on an input."""
    return np.full((steps, steps), 0.25) + 0.25 * np.eye(steps)


def _settled(rates: list[float]) -> int:
    """0 while the last 8 layers' rates still move; 1 when they agree; 2 when they alternate."""
    if len(rates) < _WINDOW:
        return 0
    recent = np.asarray(rates[-_WINDOW:])
    tolerance = 1e-3 * recent.mean() + 2.0 / SAMPLES
    if np.ptp(recent) <= tolerance:
        return 1
    even, odd = recent[::2], recent[1::2]
    if max(np.ptp(even), np.ptp(odd)) <= tolerance and abs(even.mean() - odd.mean()) > 3 * tolerance:
        return 2
    return 0


def _iterate(c: Matrix, kappa: float, dyn: Dynamics, layers: int) -> tuple[Matrix, Matrix, int, int]:
    """Iterate the layer map from ``c`` until its rate settles; (C, its membranes, layers taken, period).

    Settled: the time-averaged rate of the last 8 layers agrees to 0.1% (+ 2 samples), or alternates
    between two such values (period 2), or the matrix repeats exactly, or the activity died.
    """
    membranes = np.zeros((dyn.steps, 1))
    rates: list[float] = []
    for layer in range(1, layers + 1):
        new, membranes = layer_map(c, kappa, dyn)
        rates.append(time_averaged_rate(new))
        if rates[-1] < _DEAD or np.abs(new - c).max() < _TOLERANCE:
            return new, membranes, layer, 1
        c = new
        period = _settled(rates)
        if period:
            return c, membranes, layer, period
    return c, membranes, layers, 1


def _stability(c: Matrix, kappa: float, dyn: Dynamics, *, size: float = 0.02, layers: int = 8) -> float:
    """The per-layer decay factor of a small perturbation of a fixed point (the worse of a rise and a dip).

    The input's co-occurrences are scaled by ``1 +- size`` (one layer's gain changed by that much) and
    the map iterated; the factor is ``(last deviation / first) ** (1 / (layers - 1))`` of the rate. A
    perturbation that kills the activity gives ``inf``.
    """
    rate = time_averaged_rate(c)
    worst = 0.0
    for sign in (1.0, -1.0):
        state = c * (1 + sign * size)
        deviations = []
        for _ in range(layers):
            state, _ = layer_map(state, kappa, dyn)
            if time_averaged_rate(state) < _DEAD:
                return math.inf
            deviations.append(abs(time_averaged_rate(state) - rate))
        if deviations[0] > 4.0 / SAMPLES:  # else the perturbation is gone at once
            worst = max(worst, (max(deviations[-1], 1.0 / SAMPLES) / deviations[0]) ** (1.0 / (layers - 1)))
    return worst


def deep_fixed_point(kappa: float, dyn: Dynamics, start: Matrix | None = None) -> FixedPoint:
    r"""Where layers of equal propagation gain :math:`\kappa` settle: iterate the layer map to its fixed point.

    Args:
        kappa: The propagation gain of every layer.
        dyn: The dynamics.
        start: The co-occurrences of the first layer's input (default: i.i.d. spikes at rate 1/2).

    Returns:
        The fixed point: its rates, membrane variance, stability factor and period; rate 0 when the
        activity dies within the iteration's reach (400 layers, at least 20 per step).

    Examples:
        >>> point = deep_fixed_point(6.303, Dynamics(beta=0.0, reset="hard", steps=5))
        >>> round(point.rate, 2), point.stability < 1
        (0.16, True)
    """
    if not (math.isfinite(kappa) and kappa > 0):
        raise SNNInitError(f"the propagation gain must be a positive number, got {kappa!r}")
    c = _dense(dyn.steps) if start is None else start
    c, membranes, layers, period = _iterate(c, kappa, dyn, max(_MAX_LAYERS, 20 * dyn.steps))
    rate = time_averaged_rate(c)
    if rate < _DEAD:
        return FixedPoint(kappa, 0.0, (0.0,) * dyn.steps, 0.0, 0.0, 1, layers, c)
    variance = float(membranes.var(axis=1).mean()) * dyn.theta**2
    stability = _stability(c, kappa, dyn) if period == 1 else 2.0
    rates = tuple(float(value) for value in np.diag(c))
    return FixedPoint(kappa, rate, rates, variance, stability, period, layers, c)


def rate_floor(dyn: Dynamics, *, stability: float = STABLE) -> FixedPoint:
    r"""The lowest deep rate zero-mean weights sustain with a first-step stability factor of ``stability``.

    The fixed point (from i.i.d. spikes at rate 1/2) at :func:`~snninit_adapters.theory.stable_gain`
    ``(stability)``; with ``stability=1`` it is the mathematical floor at :math:`\kappa_c`, marginal.

    Args:
        dyn: The dynamics.
        stability: The first step's stability factor at the floor, in (0, 1].

    Returns:
        The fixed point at the floor.
    """
    if not 0.0 < stability <= 1.0:
        raise SNNInitError(f"stability must lie in (0, 1], got {stability!r}")
    kappa = critical_gain()[0] * 1.0005 if stability == 1.0 else stable_gain(stability)
    return deep_fixed_point(kappa, dyn)


def matching_gain(c: Matrix, rate: float, dyn: Dynamics) -> float | None:
    r"""The propagation gain with which a layer reading co-occurrences ``c`` fires at ``rate`` (time-averaged).

    Args:
        c: The layer's input co-occurrences :math:`E[x_t x_s]` (spikes, or real-valued data).
        rate: The time-averaged rate its neurons should have.
        dyn: Their dynamics.

    Returns:
        :math:`\kappa`, or None when no gain up to :math:`10^3` reaches the rate.
    """

    def excess(log_kappa: float) -> float:
        return time_averaged_rate(layer_map(c, math.exp(log_kappa), dyn)[0]) - rate

    high = 0.0
    while excess(high - 1.0) > 0 and high > -20:
        high -= 1.0
    while excess(high) < 0:
        if high > math.log(_MAX_GAIN):
            return None
        high += 1.0
    return math.exp(optimize.brentq(excess, high - 1.0, high, xtol=1e-4))


def _fixed_point_gain(rate: float, dyn: Dynamics, low: float, start: Matrix) -> FixedPoint:
    """The deep fixed point reached from ``start`` with gain at least ``low`` and a rate as close to ``rate``.

    Above the target at ``low``: that point. Below it at every gain up to 1e3: the highest point found.
    Every point is iterated from ``start``, the first layer's output, as in the network: deep layers
    forget their input only within one basin (Eq. 13's ordering at small leak has several).
    """
    points: dict[float, FixedPoint] = {}

    def solve(log_kappa: float) -> FixedPoint:
        if log_kappa not in points:
            points[log_kappa] = deep_fixed_point(math.exp(log_kappa), dyn, start)
        return points[log_kappa]

    log_low = log_high = math.log(low)
    while solve(log_high).rate < rate:
        if log_high > math.log(_MAX_GAIN):
            return max(points.values(), key=lambda point: point.rate)
        log_low, log_high = log_high, log_high + 0.5
    if log_high > log_low:
        optimize.brentq(lambda x: solve(x).rate - rate, log_low, log_high, xtol=1e-3)
    alive = [point for point in points.values() if point.alive]
    above = [point for point in alive if point.rate >= rate / 1.02]  # not below the aim: near it lies the floor
    return min(above or alive, key=lambda point: abs(point.rate - rate))


@dataclass(frozen=True)
class TemporalVariance:
    r"""The temporal rule's weight variances for one dynamics, and how sure it is of them.

    Attributes:
        dynamics: The dynamics it was computed for (``input`` says what the first layer reads).
        fan_in: :math:`n`.
        target_rate: The time-averaged rate asked for.
        rate: The rate aimed at: the target, the floor when the target is below it, or the highest
            rate the deep layers reach when it is above.
        first: :math:`\operatorname{Var}[w]` of the first weight layer.
        deep: :math:`\operatorname{Var}[w]` of every deeper layer.
        kappa_first: The first layer's propagation gain.
        kappa_deep: The deep layers' propagation gain :math:`\kappa^*`.
        fixed_point: The deep layers' fixed point (rate, variance, stability factor, period).
        floor: The lowest rate the deep layers sustain (first-step stability factor 0.8).
    """

    dynamics: Dynamics
    fan_in: int
    target_rate: float
    rate: float
    first: float
    deep: float
    kappa_first: float
    kappa_deep: float
    fixed_point: FixedPoint
    floor: FixedPoint

    @property
    def lifted(self) -> bool:
        """The rule aims above the target: it is below the floor, or no fixed point lies near it."""
        return self.rate > self.target_rate * 1.02

    @property
    def below_floor(self) -> bool:
        """The target is below the floor: no zero-mean weights keep it at depth."""
        return self.target_rate < self.floor.rate / 1.02

    @property
    def lowered(self) -> bool:
        """The target is above every rate the deep layers reach; the rule aims at their highest."""
        return self.rate < self.target_rate / 1.02

    @property
    def reached(self) -> bool:
        """The deep fixed point has the rate aimed at (within 2%)."""
        return self.fixed_point.alive and abs(self.fixed_point.rate - self.rate) <= 0.02 * self.rate

    @property
    def feasible(self) -> bool:
        """The target itself is kept at every depth."""
        return self.reached and not (self.lifted or self.lowered)

    @property
    def stable(self) -> bool:
        """The deep fixed point shrinks perturbations (factor < 1) and does not alternate."""
        point = self.fixed_point
        return point.alive and point.period == 1 and point.stability < 1.0

    def notes(self) -> tuple[str, ...]:
        """What a user should know about the result, one sentence each."""
        found = []
        point = self.fixed_point
        if self.lifted and self.below_floor:
            found.append(
                f"the target rate {self.target_rate:.3g} is below the lowest rate these dynamics sustain "
                f"({self.floor.rate:.3g}, at first-step stability {STABLE}): no zero-mean weight variance keeps a "
                f"lower deep rate, so the rule aims at {self.rate:.3g}"
            )
        elif self.lifted:
            found.append(
                f"from this input the deep layers settle at no rate near the target {self.target_rate:.3g} (their "
                f"fixed points jump past it as the gain grows); the rule aims at the nearest above, {self.rate:.3g}"
            )
        if self.lowered:
            found.append(
                f"the deep layers reach no rate above {self.rate:.3g}, below the target {self.target_rate:.3g}; "
                "the rule aims at that"
            )
        if not self.reached:
            found.append(f"the deep layers settle at {point.rate:.3g}, not at the {self.rate:.3g} aimed at")
        if point.period == 2:
            found.append("the deep layers alternate between two states (period 2); their rate is the average")
        elif point.alive and not self.stable:
            found.append(f"the deep fixed point is unstable: a perturbation grows by {point.stability:.2f} per layer")
        return tuple(found)


@functools.lru_cache(maxsize=256)
def _solve(dyn: Dynamics, rate: float) -> tuple[float, FixedPoint, FixedPoint, float]:
    """(first layer's gain, deep fixed point, floor, rate aimed at) for one dynamics and target rate."""
    floor = rate_floor(dyn)
    aimed = max(rate, floor.rate)
    c_in, _ = first_layer(dyn)
    kappa_first, point = floor.kappa, floor
    for _ in range(3):  # the deep layers' floor or ceiling, seen from the first layer's output, moves the aim
        found = matching_gain(c_in, aimed, dyn)
        kappa_first = _MAX_GAIN if found is None else found
        c_first, _ = layer_map(c_in, kappa_first, dyn)
        point = _fixed_point_gain(time_averaged_rate(c_first) if found is None else aimed, dyn, floor.kappa, c_first)
        if not point.alive or abs(point.rate - aimed) <= 0.02 * aimed:
            break
        aimed = point.rate
    return kappa_first, point, floor, aimed


def temporal_weight_variance(fan_in: int, dyn: Dynamics, target_rate: float | None = None) -> TemporalVariance:
    r"""The weight variances that keep the time-averaged rate at ``target_rate`` at every depth.

    Cached per dynamics and rate (the fan-in only rescales the variances). For memoryless dynamics
    (``Dynamics.memoryless``) and the default target this is Eq. 10 wherever Eq. 10's fixed point is
    above the floor: :math:`\kappa^* = 1/(\theta^2 Q(\theta))`.

    Args:
        fan_in: :math:`n`, the inputs summed into one neuron.
        dyn: The dynamics; ``dyn.input`` is what the first layer reads.
        target_rate: The time-averaged rate to keep (default: the paper's first-step rate
            :math:`Q(\theta / \sigma_\text{in})`).

    Returns:
        The variances, gains, fixed point and floor, with feasibility and stability.

    Examples:
        >>> rule = temporal_weight_variance(1000, Dynamics(beta=0.0, reset="hard", steps=5))
        >>> round(rule.deep * 1000 * 0.15866, 2), rule.feasible, rule.stable
        (1.0, True, True)
    """
    if isinstance(fan_in, bool) or not isinstance(fan_in, int) or fan_in < 1:
        raise SNNInitError(f"fan_in must be a positive int, got {fan_in!r}")
    rate = dyn.bernoulli_rate if target_rate is None else float(target_rate)
    if not 0.0 < rate < 1.0:
        raise SNNInitError(f"the target rate must lie strictly between 0 and 1, got {target_rate!r}")
    kappa_first, point, floor, aimed = _solve(dyn, round(rate, 6))
    return TemporalVariance(
        dyn, fan_in, rate, aimed, weight_variance_of_gain(kappa_first, fan_in, dyn),
        weight_variance_of_gain(point.kappa, fan_in, dyn), kappa_first, point.kappa, point, floor,
    )  # fmt: skip


@functools.lru_cache(maxsize=256)
def input_layer_gain(dyn: Dynamics, rate: float, reads: DataKind | Dynamics, mean_square: float = 0.0) -> float | None:
    r"""The propagation gain with which a layer reading the data, or an encoding layer's spikes, fires at ``rate``.

    Args:
        dyn: The layer's neurons' dynamics.
        rate: Their time-averaged rate (the rule's aim).
        reads: ``"repeated"`` (a real-valued input, the same at every step), ``"independent"``
            (drawn afresh at every step, with ``mean_square``), both of unit :math:`E[x^2]`, or the
            dynamics of encoding neurons whose spikes the layer reads (a constant current of std
            ``input_std``).
        mean_square: For ``"independent"`` data, :math:`E[x]^2 / E[x^2]`.

    Returns:
        :math:`\kappa`, in units where the input has :math:`E[x^2] = 1` (spikes: amplitude 1); None when
        no gain up to :math:`10^3` reaches the rate.
    """
    return matching_gain(input_cooccurrence(reads, dyn.steps, mean_square=mean_square), rate, dyn)
