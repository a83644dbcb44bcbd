r"""The exact finite-width law of single-step activity propagation, and the mean-field picture behind it.

**The exact law.** In a fully-connected layer of :math:`n` neurons with i.i.d. weights
:math:`\mathcal N(0, s^2)`, given :math:`k` spikes in the layer's input, each membrane is
:math:`\mathcal N(0, s^2 k)`, independently of the others (the rows of :math:`W` are independent). The
layer's spike count is therefore :math:`\operatorname{Binomial}(n, p_k)` with

.. math::

    p_k = P(u > \theta \mid k) = \tfrac12 \operatorname{erfc}\!\left(\frac{\theta}{s \sqrt{2k}}\right),

so the spike counts :math:`k_0, k_1, \dots` form a Markov chain on :math:`\{0, \dots, n\}` in which
state 0 (activity lost) is absorbing (for :math:`\theta \ge 0`). Its transition matrices give, for any
depth, the exact distribution of every layer's spike count, hence the exact probability that activity
survives to depth :math:`L` and the exact mean and spread of :math:`\operatorname{Var}[u_l]`, without
sampling. Each row keeps only the Binomial mass above ``tol``; the dropped mass is tracked and bounds
the error of every probability computed.

**The mean-field picture.** For infinitely wide layers under the paper's weights
(:math:`s^2 = 1/(n P(u > \theta))`), a membrane variance :math:`V` in one layer gives the next

.. math::

    f(V) = \frac{P(u > \theta / \sqrt V)}{P(u > \theta)},

with a fixed point at :math:`V = 1` of slope :math:`f'(1) = \theta \varphi(\theta) / (2 P(u > \theta))`.
Below 1 (:math:`\theta` up to about 1.2) disturbances shrink; but :math:`f(0) = 0` is also stable, and
between them lies an unstable fixed point :math:`V_u < 1`: a layer whose variance falls below
:math:`V_u` starts a collapse. Finite width makes the variance fluctuate (the spike count's relative
spread is about :math:`1/\sqrt{n P}`), and as :math:`\theta` grows both effects worsen together:
:math:`nP` shrinks and :math:`V_u` moves up towards 1. That is why width and threshold interact as in
the paper's Fig. 4.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, sparse, special, stats

from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory.firing import firing_probability
from snninit_adapters.theory.spike_counts import (
    DEFAULT_MAX_WORK,
    SpikeCountLaw,
    TransitionRows,
    WorkBudget,
    binomial_law,
    encoding_survival_bound,
    propagate,
    survival_bounds,
)
from snninit_adapters.theory.variance import snn_weight_variance

__all__ = [
    "ChainResult",
    "lower_fixed_point",
    "max_threshold",
    "membrane_variance_moments",
    "propagate_spike_counts",
    "recommend_width",
    "spike_count_transition",
    "survival_probability",
    "variance_map",
    "variance_map_slope",
]

DEFAULT_TOL = 1e-13


# --- mean field ---------------------------------------------------------------------------------


def variance_map(variance: float | npt.ArrayLike, theta: float) -> float | npt.NDArray[np.float64]:
    r"""The next layer's membrane variance :math:`f(V) = P(u > \theta/\sqrt V) / P(u > \theta)` (infinite width).

    Args:
        variance: This layer's membrane variance :math:`V \ge 0` (number or array).
        theta: The threshold :math:`\theta`.

    Returns:
        :math:`f(V)`, shaped like ``variance``.
    """
    v = np.asarray(variance, dtype=np.float64)
    with np.errstate(divide="ignore"):
        margin = np.where(v > 0, theta / np.sqrt(np.where(v > 0, v, 1.0)), np.inf if theta > 0 else -np.inf)
    result = special.ndtr(-margin) / firing_probability(theta)
    return float(result) if result.ndim == 0 else result


def variance_map_slope(theta: float) -> float:
    r"""Slope of the variance map at its fixed point :math:`V = 1`: :math:`\theta \varphi(\theta) / (2 P(u > \theta))`.

    Below 1, disturbances of the variance shrink from layer to layer; above 1 (thresholds above
    about 1.2) the fixed point repels.
    """
    return float(theta * stats.norm.pdf(theta) / (2 * firing_probability(theta)))


def lower_fixed_point(theta: float) -> float | None:
    r"""The unstable fixed point :math:`V_u \in (0, 1)` of the variance map, below which activity collapses.

    Args:
        theta: The threshold (> 0; at 0 the map is constant).

    Returns:
        :math:`V_u`, or None when the map has no fixed point strictly between 0 and 1.
    """
    if theta <= 0:
        return None

    def gap(v: float) -> float:
        return float(variance_map(v, theta)) - v

    grid = np.linspace(1e-6, 1 - 1e-6, 2001)
    values = np.asarray(variance_map(grid, theta)) - grid
    sign_changes = np.nonzero(np.diff(np.sign(values)))[0]
    if sign_changes.size == 0:
        return None
    i = int(sign_changes[-1])
    return float(optimize.brentq(gap, grid[i], grid[i + 1], xtol=1e-14))


# --- exact finite-width chain --------------------------------------------------------------------


def _check_layer(n_in: int, n_out: int, theta: float, weight_std: float) -> None:
    if n_in < 1 or n_out < 1:
        raise SNNInitError(f"widths must be positive, got {n_in} -> {n_out}")
    if not (math.isfinite(theta) and math.isfinite(weight_std) and weight_std > 0):
        raise SNNInitError(f"need a finite threshold and a positive weight std, got theta={theta}, std={weight_std}")


def spike_count_transition(
    n_in: int, n_out: int, theta: float, weight_std: float, *, tol: float = DEFAULT_TOL
) -> tuple[sparse.csr_matrix, float]:
    r"""Transition matrix from :math:`k \in \{0..n_\text{in}\}` input spikes to the layer's spike count.

    Row :math:`k` is :math:`\operatorname{Binomial}(n_\text{out}, p_k)`, keeping only the entries whose
    mass lies within the central :math:`1 - \text{tol}` of the law (both tails cut at ``tol / 2``).

    Args:
        n_in: Width of the presynaptic layer.
        n_out: Width of this layer.
        theta: Threshold of this layer's neurons.
        weight_std: Std :math:`s` of the weights.
        tol: Largest mass dropped per row.

    Returns:
        The sparse matrix, shape (n_in + 1, n_out + 1), and the largest mass actually dropped from a row.
    """
    _check_layer(n_in, n_out, theta, weight_std)
    k = np.arange(n_in + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        margin = np.where(k > 0, theta / (weight_std * np.sqrt(np.where(k > 0, k, 1.0))), np.inf)
    p = special.ndtr(-margin)
    if theta < 0:
        p[0] = 1.0  # u = 0 exceeds a negative threshold
    # rows with p = 0 or 1 are a point mass; the others keep their central 1 - tol
    low = np.where(p >= 1.0, n_out, 0).astype(np.int64)
    high = np.where(p <= 0.0, 0, n_out).astype(np.int64)
    inner = (p > 0.0) & (p < 1.0)
    with warnings.catch_warnings():  # boost may fail to bracket a quantile deep in a tail: keep the full row then
        warnings.simplefilter("ignore", RuntimeWarning)
        low_inner = stats.binom.ppf(tol / 2, n_out, p[inner])
        high_inner = stats.binom.ppf(1 - tol / 2, n_out, p[inner])
    low[inner] = np.nan_to_num(low_inner, nan=0.0)
    high[inner] = np.nan_to_num(high_inner, nan=float(n_out))
    low, high = low.clip(0, n_out), high.clip(0, n_out)
    lengths = high - low + 1
    rows = np.repeat(np.arange(n_in + 1), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    columns = np.repeat(low, lengths) + offsets
    values = stats.binom.pmf(columns, n_out, p[rows])
    matrix = sparse.csr_matrix((values, (rows, columns)), shape=(n_in + 1, n_out + 1))
    dropped = float(np.max(1.0 - np.asarray(matrix.sum(axis=1)).ravel()))
    return matrix, max(dropped, 0.0)


@dataclass(frozen=True)
class ChainResult:
    """Exact per-layer spike-count distributions of a network.

    Attributes:
        laws: Layer 0 (encoding) to ``L``: each layer's spike-count law, on the counts it reaches.
        widths: Layer widths ``n_0..n_L``.
        weight_stds: Weight std of layers 1..L.
        truncation_bound: Upper bound on the total probability mass dropped (the rows' and the laws' cut
            tails): every computed probability is at most the exact one, and at most this much below it.
    """

    laws: tuple[SpikeCountLaw, ...]
    widths: tuple[int, ...]
    weight_stds: tuple[float, ...]
    truncation_bound: float

    @property
    def distributions(self) -> tuple[npt.NDArray[np.float64], ...]:
        """Layer 0 to ``L``: the probability of each spike count ``0..n_l`` (dense arrays, built on each access)."""
        return tuple(law.dense() for law in self.laws)

    @property
    def survival(self) -> npt.NDArray[np.float64]:
        """Probability that layer ``l`` still has at least one spike, for every layer."""
        return np.array([law.alive() for law in self.laws])

    def spike_count_mean(self) -> npt.NDArray[np.float64]:
        """Expected spike count per layer."""
        return np.array([law.moment() for law in self.laws])

    def spike_count_std(self) -> npt.NDArray[np.float64]:
        """Standard deviation of the spike count per layer."""
        return np.array([math.sqrt(max(law.moment(power=2) - law.moment() ** 2, 0.0)) for law in self.laws])

    def spike_count_quantile(self, q: float) -> npt.NDArray[np.float64]:
        """The ``q``-quantile of the spike count per layer."""
        return np.array([law.quantile(q) for law in self.laws])


def _encoding_law(width: int, p: float, tol: float) -> tuple[SpikeCountLaw, SpikeCountLaw, float]:
    """Layer 0's law: stored whole (every count with mass above 0), and cut to its central 1 - tol / 2 to propagate."""
    counts = np.arange(width + 1)
    whole = stats.binom.pmf(counts, width, p)
    nonzero = np.flatnonzero(whole[1:]) + 1
    low, high = (int(nonzero[0]), int(nonzero[-1]) + 1) if nonzero.size else (1, 1)
    stored = SpikeCountLaw(width, float(whole[0]), low, whole[low:high])
    cut, dropped = binomial_law(width, p, tol)
    return stored, cut, dropped


def propagate_spike_counts(
    widths: Sequence[int],
    thresholds: Sequence[float],
    weight_stds: Sequence[float],
    *,
    input_std: float = 1.0,
    tol: float = DEFAULT_TOL,
    max_work: int = DEFAULT_MAX_WORK,
) -> ChainResult:
    r"""Exact spike-count distributions of every layer of a fully-connected network, one time step.

    Layer 0 reads the real-valued input :math:`\mathcal N(0, \sigma_0^2)` on its membranes, so its
    spike count is :math:`\operatorname{Binomial}(n_0, P(u > \theta_0))`; layers 1..L follow the chain,
    each propagated on the counts the previous layer reaches (rows built only for those, shared by the
    layers with the same widths, threshold and weight std).

    Args:
        widths: ``n_0..n_L``.
        thresholds: ``theta_0..theta_L`` (one per layer).
        weight_stds: Weight std of layers ``1..L``.
        input_std: Std of the input on layer 0's membranes.
        tol: Mass dropped per layer: each row's tails (``tol / 2``) and each law's tails (``tol / 2``).
        max_work: Transition-matrix entries the call may build or use (its time and memory bound).

    Returns:
        The per-layer laws and the truncation bound.

    Raises:
        SNNInitError: On inconsistent inputs, or when the chain needs more than ``max_work`` entries.
    """
    if not (len(widths) == len(thresholds) == len(weight_stds) + 1):
        raise SNNInitError("need one width and threshold per layer (0..L) and one weight std per layer 1..L")
    budget = WorkBudget(max_work, f"the exact law of a {len(widths)}-layer chain")
    stored, law, bound = _encoding_law(int(widths[0]), float(firing_probability(thresholds[0], std=input_std)), tol)
    laws = [stored]
    cache: dict[tuple[int, int, float, float], TransitionRows] = {}
    for layer in range(1, len(widths)):
        key = (int(widths[layer - 1]), int(widths[layer]), float(thresholds[layer]), float(weight_stds[layer - 1]))
        _check_layer(*key)
        if key not in cache:
            cache[key] = TransitionRows(*key, tol=tol)
        law, row_drop, cut, _ = propagate(law, cache[key], budget)
        laws.append(law)
        bound += row_drop + cut
    return ChainResult(tuple(laws), tuple(int(n) for n in widths), tuple(map(float, weight_stds)), bound)


def _paper_std(width: int, theta: float) -> float:
    return math.sqrt(snn_weight_variance(width, theta))


def survival_probability(
    width: int,
    depth: int,
    theta: float,
    *,
    weight_std: float | None = None,
    tol: float = DEFAULT_TOL,
    max_work: int = DEFAULT_MAX_WORK,
) -> float:
    r"""Probability that activity survives ``depth`` layers of ``width`` neurons (the paper's setup, one step).

    Computed by :func:`~snninit_adapters.theory.spike_counts.survival_bounds`: the chain on the counts it
    reaches, and once its surviving part has settled (its quasi-stationary law), the remaining layers
    from a proven bound instead of one by one; the answer is within ``2 tol (depth + 1)`` of the exact one.

    Args:
        width: Neurons per layer (every layer, including the encoding layer).
        depth: Weight layers after the encoding layer.
        theta: Threshold of every neuron.
        weight_std: Weight std; by default the paper's, :math:`1/\sqrt{n P(u > \theta)}`.
        tol: Mass dropped per layer.
        max_work: Transition-matrix entries the call may build or use (its time and memory bound).

    Returns:
        :math:`P(k_L > 0)`.

    Raises:
        SNNInitError: When the chain needs more than ``max_work`` entries (the message says so).
    """
    std = _paper_std(width, theta) if weight_std is None else weight_std
    _check_layer(width, width, theta, std)
    budget = WorkBudget(max_work, f"the survival over {depth} layers of {width} neurons at theta = {theta:g}")
    return survival_bounds(width, depth, theta, std, tol=tol, budget=budget).estimate


def membrane_variance_moments(chain: ChainResult) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    r"""Exact mean and std (over networks) of :math:`\operatorname{Var}[u_l]` across a layer's neurons, layers 1..L.

    Given :math:`k` input spikes the :math:`n` membranes are i.i.d. :math:`\mathcal N(0, s^2 k)`, so their
    population variance is :math:`s^2 k\, \chi^2_{n-1} / n`: conditional mean :math:`s^2 k (n-1)/n` and
    variance :math:`2 (s^2 k)^2 (n-1)/n^2`, mixed over the chain's law of :math:`k`.

    Returns:
        ``(mean, std)`` arrays for layers 1..L.
    """
    means, stds = [], []
    for layer in range(1, len(chain.widths)):
        n = chain.widths[layer]
        law = chain.laws[layer - 1]
        scale = chain.weight_stds[layer - 1] ** 2 * law.counts()  # s^2 k (0 at k = 0)
        conditional_mean = scale * (n - 1) / n
        conditional_var = 2 * scale**2 * (n - 1) / n**2
        mean = law.moment(conditional_mean)
        second = law.moment(conditional_var + conditional_mean**2)
        means.append(mean)
        stds.append(math.sqrt(max(second - mean**2, 0.0)))
    return np.array(means), np.array(stds)


def _check_survival(survival: float) -> None:
    if not 0 < survival < 1:
        raise SNNInitError(f"survival must be a probability strictly between 0 and 1, got {survival!r}")


def _survives(width: int, depth: int, theta: float, survival: float, budget: WorkBudget) -> tuple[bool, int]:
    """Whether the paper's chain keeps activity with at least ``survival``, and the layers it took to know."""
    found = survival_bounds(width, depth, theta, _paper_std(width, theta), tol=DEFAULT_TOL, target=survival,
                            budget=budget)  # fmt: skip
    if found.lower >= survival or found.upper < survival:
        return found.lower >= survival, found.layers
    return found.estimate >= survival, found.layers  # within the law's own error of the target


def _no_width(theta: float, depth: int, survival: float, max_width: int, layers: int | None) -> SNNInitError:
    text = (
        f"no width up to {max_width} keeps activity over {depth} layers with probability {survival} at theta = {theta}"
    )
    if layers is None:
        bound = encoding_survival_bound(theta, max_width)
        return SNNInitError(f"{text}: even the encoding layer of {max_width} neurons fires with probability only "
                            f"{bound:.3g} (P(u > theta) = {firing_probability(theta):.3g})")  # fmt: skip
    slope = variance_map_slope(theta)
    why = (
        f"; past the critical threshold (about 1.2) the mean-field fixed point V = 1 repels (slope {slope:.3g} "
        ">= 1): a layer's variance leaves it within a few layers and, in a large share of networks, collapses"
    )
    return SNNInitError(f"{text}: at {max_width} neurons the survival is already below {survival} by layer "
                        f"{layers}{why if slope >= 1 else ''}")  # fmt: skip


def recommend_width(
    theta: float, depth: int, survival: float = 0.99, *, max_width: int = 1 << 16, max_work: int = DEFAULT_MAX_WORK
) -> int:
    """Smallest width whose activity survives ``depth`` layers with at least ``survival`` probability.

    Under the paper's initialisation, in the single-step setup (every layer the same width). Widths
    double from 8 and are then bisected (so survival is taken to grow with the width); each width's
    answer stops as soon as the exact law's bounds decide it. An impossible request answers at once:
    when the encoding layer alone (:func:`encoding_survival_bound`) cannot reach ``survival``, and, past
    the mean-field critical threshold (slope of the variance map at V = 1 at least 1), by trying
    ``max_width`` first.

    Raises:
        SNNInitError: If no width up to ``max_width`` suffices (the message says why), if ``survival`` is
            not strictly between 0 and 1, or if the search needs more than ``max_work`` matrix entries.
    """
    _check_survival(survival)
    budget = WorkBudget(max_work, f"the width search for {depth} layers at theta = {theta:g}")
    if encoding_survival_bound(theta, max_width) < survival:
        raise _no_width(theta, depth, survival, max_width, None)
    if variance_map_slope(theta) >= 1 and not (top := _survives(max_width, depth, theta, survival, budget))[0]:
        raise _no_width(theta, depth, survival, max_width, top[1])
    high = min(8, max_width)
    while not (answer := _survives(high, depth, theta, survival, budget))[0]:
        if high >= max_width:
            raise _no_width(theta, depth, survival, max_width, answer[1])
        high = min(2 * high, max_width)
    low = high // 2 + 1 if high > 8 else 1
    while low < high:
        middle = (low + high) // 2
        if _survives(middle, depth, theta, survival, budget)[0]:
            high = middle
        else:
            low = middle + 1
    return low


def max_threshold(
    width: int,
    depth: int,
    survival: float = 0.99,
    *,
    upper: float = 4.0,
    xtol: float = 1e-3,
    max_work: int = DEFAULT_MAX_WORK,
) -> float:
    """Largest threshold at which activity survives ``depth`` layers of ``width`` neurons with that probability.

    Under the paper's initialisation, in the single-step setup. Found by bisection on ``[0, upper]``
    (survival falls as the threshold rises) to within ``xtol``; each threshold's answer stops as soon as
    the exact law's bounds decide it.

    Returns:
        The threshold (0.0 if even theta = 0 does not meet ``survival``; ``upper`` if ``upper`` does).

    Raises:
        SNNInitError: If ``survival`` is not strictly between 0 and 1, or the search needs more than
            ``max_work`` matrix entries.
    """
    _check_survival(survival)
    budget = WorkBudget(max_work, f"the threshold search for {depth} layers of {width} neurons")
    if not _survives(width, depth, 0.0, survival, budget)[0]:
        return 0.0
    if _survives(width, depth, upper, survival, budget)[0]:
        return upper
    low, high = 0.0, upper
    while high - low > xtol:
        middle = (low + high) / 2
        if _survives(width, depth, middle, survival, budget)[0]:
            low = middle
        else:
            high = middle
    return low
