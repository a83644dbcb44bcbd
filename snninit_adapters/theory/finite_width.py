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
        distributions: Layer 0 (encoding) to ``L``: the probability of each spike count ``0..n_l``.
        widths: Layer widths ``n_0..n_L``.
        weight_stds: Weight std of layers 1..L.
        truncation_bound: Upper bound on the total probability mass dropped by the banded matrices.
    """

    distributions: tuple[npt.NDArray[np.float64], ...]
    widths: tuple[int, ...]
    weight_stds: tuple[float, ...]
    truncation_bound: float

    @property
    def survival(self) -> npt.NDArray[np.float64]:
        """Probability that layer ``l`` still has at least one spike, for every layer."""
        return np.array([1.0 - d[0] for d in self.distributions])

    def spike_count_mean(self) -> npt.NDArray[np.float64]:
        """Expected spike count per layer."""
        return np.array([float(d @ np.arange(d.size)) for d in self.distributions])

    def spike_count_std(self) -> npt.NDArray[np.float64]:
        """Standard deviation of the spike count per layer."""
        out = []
        for d in self.distributions:
            k = np.arange(d.size)
            mean = d @ k
            out.append(math.sqrt(max(float(d @ k**2 - mean**2), 0.0)))
        return np.array(out)

    def spike_count_quantile(self, q: float) -> npt.NDArray[np.float64]:
        """The ``q``-quantile of the spike count per layer."""
        return np.array([float(np.searchsorted(np.cumsum(d), q)) for d in self.distributions])


def propagate_spike_counts(
    widths: Sequence[int],
    thresholds: Sequence[float],
    weight_stds: Sequence[float],
    *,
    input_std: float = 1.0,
    tol: float = DEFAULT_TOL,
) -> ChainResult:
    r"""Exact spike-count distributions of every layer of a fully-connected network, one time step.

    Layer 0 reads the real-valued input :math:`\mathcal N(0, \sigma_0^2)` on its membranes, so its
    spike count is :math:`\operatorname{Binomial}(n_0, P(u > \theta_0))`; layers 1..L follow the chain.

    Args:
        widths: ``n_0..n_L``.
        thresholds: ``theta_0..theta_L`` (one per layer).
        weight_stds: Weight std of layers ``1..L``.
        input_std: Std of the input on layer 0's membranes.
        tol: Mass dropped per matrix row (see :func:`spike_count_transition`).

    Returns:
        The per-layer distributions and the truncation bound.
    """
    if not (len(widths) == len(thresholds) == len(weight_stds) + 1):
        raise SNNInitError("need one width and threshold per layer (0..L) and one weight std per layer 1..L")
    n0 = int(widths[0])
    first = stats.binom.pmf(np.arange(n0 + 1), n0, firing_probability(thresholds[0], std=input_std))
    distributions = [first]
    bound = 0.0
    cache: dict[tuple[int, int, float, float], tuple[sparse.csr_matrix, float]] = {}
    for layer in range(1, len(widths)):
        key = (int(widths[layer - 1]), int(widths[layer]), float(thresholds[layer]), float(weight_stds[layer - 1]))
        if key not in cache:
            cache[key] = spike_count_transition(*key, tol=tol)
        matrix, dropped = cache[key]
        distributions.append(np.asarray(matrix.T @ distributions[-1]))
        bound += dropped
    return ChainResult(tuple(distributions), tuple(int(n) for n in widths), tuple(map(float, weight_stds)), bound)


def _paper_std(width: int, theta: float) -> float:
    return math.sqrt(snn_weight_variance(width, theta))


def survival_probability(
    width: int, depth: int, theta: float, *, weight_std: float | None = None, tol: float = DEFAULT_TOL
) -> float:
    r"""Probability that activity survives ``depth`` layers of ``width`` neurons (the paper's setup, one step).

    Args:
        width: Neurons per layer (every layer, including the encoding layer).
        depth: Weight layers after the encoding layer.
        theta: Threshold of every neuron.
        weight_std: Weight std; by default the paper's, :math:`1/\sqrt{n P(u > \theta)}`.
        tol: Mass dropped per matrix row.

    Returns:
        :math:`P(k_L > 0)`.
    """
    std = _paper_std(width, theta) if weight_std is None else weight_std
    chain = propagate_spike_counts([width] * (depth + 1), [theta] * (depth + 1), [std] * depth, tol=tol)
    return float(chain.survival[-1])


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
        d = chain.distributions[layer - 1]
        scale = chain.weight_stds[layer - 1] ** 2 * np.arange(d.size)  # s^2 k
        conditional_mean = scale * (n - 1) / n
        conditional_var = 2 * scale**2 * (n - 1) / n**2
        mean = float(d @ conditional_mean)
        second = float(d @ (conditional_var + conditional_mean**2))
        means.append(mean)
        stds.append(math.sqrt(max(second - mean**2, 0.0)))
    return np.array(means), np.array(stds)


def recommend_width(theta: float, depth: int, survival: float = 0.99, *, max_width: int = 1 << 16) -> int:
    """Smallest width whose activity survives ``depth`` layers with at least ``survival`` probability.

    Under the paper's initialisation, in the single-step setup (every layer the same width).

    Raises:
        SNNInitError: If no width up to ``max_width`` suffices.
    """
    high = 8
    while survival_probability(high, depth, theta) < survival:
        if high >= max_width:
            raise SNNInitError(
                f"even {max_width} neurons per layer keep activity over {depth} layers with probability below "
                f"{survival} at theta = {theta}"
            )
        high = min(2 * high, max_width)
    low = high // 2 + 1 if high > 8 else 1
    while low < high:
        middle = (low + high) // 2
        if survival_probability(middle, depth, theta) >= survival:
            high = middle
        else:
            low = middle + 1
    return low


def max_threshold(width: int, depth: int, survival: float = 0.99, *, upper: float = 4.0, xtol: float = 1e-3) -> float:
    """Largest threshold at which activity survives ``depth`` layers of ``width`` neurons with that probability.

    Under the paper's initialisation, in the single-step setup. Found by bisection on ``[0, upper]``
    (survival falls as the threshold rises) to within ``xtol``.

    Returns:
        The threshold (0.0 if even theta = 0 does not meet ``survival``; ``upper`` if ``upper`` does).
    """
    if survival_probability(width, depth, 0.0) < survival:
        return 0.0
    if survival_probability(width, depth, upper) >= survival:
        return upper
    low, high = 0.0, upper
    while high - low > xtol:
        middle = (low + high) / 2
        if survival_probability(width, depth, middle) >= survival:
            low = middle
        else:
            high = middle
    return low
