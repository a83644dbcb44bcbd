r"""The exact spike-count chain, propagated on the support of its current distribution, at a bounded cost.

Row :math:`k` of a layer's transition matrix is :math:`\operatorname{Binomial}(n_\text{out}, p_k)`. A
layer's spike count is concentrated on a few standard deviations around its mean, so only the rows of
the counts the current distribution reaches are needed: :class:`TransitionRows` builds them lazily (by
the ratio recurrence of the Binomial pmf from its mode, each row cut to its central mass), and
:func:`propagate` applies one layer to a distribution kept as its mass at 0 plus a dense interval of
counts above 0, whose tails holding less than ``tol / 4`` each are cut. Every dropped mass is added
up, so the total is an upper bound on the error of every probability computed: each computed mass
is at most the exact one, and the exact one exceeds it by at most the bound.

Each call counts its work (matrix entries built and used) against a :class:`WorkBudget` and keeps its
cached rows under :data:`MAX_CACHED_ENTRIES`, so its time and memory are bounded whatever the width,
depth and threshold; past the budget it raises an :class:`~snninit_adapters.SNNInitError` that says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse, special, stats

from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory.firing import firing_probability

__all__ = [
    "DEFAULT_MAX_WORK",
    "MAX_CACHED_ENTRIES",
    "SpikeCountLaw",
    "SurvivalBounds",
    "TransitionRows",
    "WorkBudget",
    "binomial_law",
    "encoding_survival_bound",
    "propagate",
    "survival_bounds",
]

DEFAULT_MAX_WORK = 400_000_000
"""Matrix entries one public call of the finite-width law may build or use (about a second)."""

MAX_CACHED_ENTRIES = 6_000_000
"""Transition-matrix entries one layer kind may hold (about 75 MB)."""

_BLOCK = 256  # rows built at a time


class WorkBudget:
    """Counts the work of one call of the finite-width law and stops it past ``limit`` entries.

    Args:
        limit: Matrix entries (built or used in a product) the call may spend.
        what: What the call computes, for the error message.
    """

    def __init__(self, limit: int = DEFAULT_MAX_WORK, what: str = "the exact finite-width law") -> None:
        self.limit = int(limit)
        self.spent = 0
        self.what = what

    def spend(self, entries: int) -> None:
        """Count ``entries`` more; raise when the total passes the limit."""
        self.spent += int(entries)
        if self.spent > self.limit:
            raise SNNInitError(
                f"{self.what} needs more than {self.limit:.3g} transition-matrix entries (its work limit, about a "
                "second): the spike-count distribution is spread too widely over too many layers. Use a narrower "
                "width, a smaller depth, or a larger max_work"
            )


@dataclass(frozen=True)
class SpikeCountLaw:
    """The law of one layer's spike count: the mass at 0 and the masses of ``offset .. offset + len(values) - 1``.

    Attributes:
        width: The layer's width ``n`` (counts run over ``0..n``).
        zero: Probability of no spike.
        offset: First count held in ``values`` (at least 1).
        values: Probabilities of the counts ``offset, offset + 1, ...``; counts outside have mass 0 (or dropped).
    """

    width: int
    zero: float
    offset: int
    values: npt.NDArray[np.float64]

    def dense(self) -> npt.NDArray[np.float64]:
        """The probabilities of every count ``0..width``."""
        out = np.zeros(self.width + 1)
        out[0] = self.zero
        out[self.offset : self.offset + self.values.size] = self.values
        return out

    def counts(self) -> npt.NDArray[np.float64]:
        """The counts ``values`` holds."""
        return np.arange(self.offset, self.offset + self.values.size, dtype=np.float64)

    def alive(self) -> float:
        """Probability of at least one spike."""
        return float(self.values.sum())

    def moment(self, function: npt.NDArray[np.float64] | None = None, power: int = 1) -> float:
        """The mean of ``function`` over the held counts (default: the count to ``power``); 0 counts add 0."""
        g = self.counts() ** power if function is None else function
        return float(self.values @ g)

    def quantile(self, q: float) -> float:
        """The smallest count whose cumulative probability reaches ``q``."""
        if self.zero >= q:
            return 0.0
        index = int(np.searchsorted(self.zero + np.cumsum(self.values), q))
        return float(self.offset + index) if index < self.values.size else float(self.width + 1)


def _trim(values: npt.NDArray[np.float64], offset: int, tol: float) -> tuple[int, npt.NDArray[np.float64], float]:
    """Cut the zero ends and the tails holding at most ``tol / 4`` each; return (offset, values, mass cut)."""
    nonzero = np.flatnonzero(values)
    if nonzero.size == 0:
        return offset, values[:0], 0.0
    low, high = int(nonzero[0]), int(nonzero[-1]) + 1
    values = values[low:high]
    cut = 0.0
    if tol > 0:
        left = int(np.searchsorted(np.cumsum(values), tol / 4, side="right"))
        right = int(np.searchsorted(np.cumsum(values[::-1]), tol / 4, side="right"))
        right = min(right, values.size - left)
        kept = values[left : values.size - right]
        cut = float(values[:left].sum() + values[values.size - right :].sum())
        return offset + low + left, kept, cut
    return offset + low, values, cut


def _windows(n: int, p: npt.NDArray[np.float64], tol: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Counts ``[low, high]`` outside which a Binomial(n, p) holds at most ``tol / 8`` per tail (Bernstein)."""
    if tol <= 0:
        return np.zeros(p.size, dtype=np.int64), np.full(p.size, n, dtype=np.int64)
    c = math.log(8 / tol)
    variance = n * p * (1 - p)
    half = c / 3 + np.sqrt(c * c / 9 + 2 * c * variance)
    low = np.floor(n * p - half).clip(0, n).astype(np.int64)
    high = np.ceil(n * p + half).clip(0, n).astype(np.int64)
    return low, high


def _pmf(k: npt.NDArray[np.int64], n: int, p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Binomial(n, p) pmf at k; boost overflows for some tiny p (then the log-gamma form, relative error ~1e-12)."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(stats.binom.pmf(k, n, p), dtype=np.float64)
    except OverflowError:
        log = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
        return np.asarray(np.exp(log + special.xlogy(k, p) + special.xlog1py(n - k, -p)), dtype=np.float64)


def _binomial_block(n: int, p: npt.NDArray[np.float64], tol: float) -> tuple[list[npt.NDArray[np.float64]], ...]:
    """Rows of Binomial(n, p) for each p: (starts, values) per row, each cut to its central 1 - tol / 2."""
    low, high = _windows(n, p, tol)
    inner = (p > 0) & (p < 1)
    mode = np.where(inner, np.floor((n + 1) * p), np.where(p >= 1, n, 0)).clip(low, high).astype(np.int64)
    start_mass = np.where(inner, _pmf(mode, n, np.where(inner, p, 0.5)), 1.0)
    odds = np.where(inner, p / np.where(inner, 1 - p, 1.0), 0.0)
    up = int((high - mode).max(initial=0))
    down = int((mode - low).max(initial=0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        j = mode[:, None] + np.arange(up)[None, :]  # pmf(j + 1) / pmf(j) = (n - j) / (j + 1) * odds
        forward = np.cumprod((n - j) / (j + 1) * odds[:, None], axis=1)
        j = mode[:, None] - np.arange(down)[None, :]  # pmf(j - 1) / pmf(j) = j / (n - j + 1) / odds
        backward = np.cumprod(j / (n - j + 1) / np.where(inner, odds, 1.0)[:, None], axis=1)
    starts, rows = [], []
    for i in range(p.size):
        if not inner[i]:  # p = 0 or 1: a point mass
            starts.append(np.array(mode[i]))
            rows.append(np.ones(1))
            continue
        left = backward[i, : mode[i] - low[i]][::-1] * start_mass[i]
        right = forward[i, : high[i] - mode[i]] * start_mass[i]
        row = np.nan_to_num(np.concatenate([left, [start_mass[i]], right]), nan=0.0, posinf=0.0)
        start, row, _ = _trim(row, int(low[i]), tol / 2)
        starts.append(np.array(start))
        rows.append(row)
    return starts, rows


def binomial_law(n: int, p: float, tol: float) -> tuple[SpikeCountLaw, float]:
    """The law of a Binomial(n, p) count cut to its central ``1 - tol / 2``, and the mass cut."""
    starts, rows = _binomial_block(n, np.array([float(p)]), tol)
    start, row = int(starts[0]), rows[0]
    zero = float(row[0]) if start == 0 and row.size else 0.0
    if start == 0:
        start, row = 1, row[1:]
    return SpikeCountLaw(n, zero, start, row), max(1.0 - zero - float(row.sum()), 0.0)


class TransitionRows:
    r"""The rows of one layer's transition matrix, built as the chain reaches them and kept for reuse.

    Row :math:`k` holds :math:`\operatorname{Binomial}(n_\text{out}, p_k)`,
    :math:`p_k = \Phi(-\theta / (s \sqrt k))`, cut to its central :math:`1 - \text{tol}/2`; rows are built
    in blocks of consecutive counts ``1..n_in``, only for the blocks the chain's distributions reach.

    Args:
        n_in: Width of the presynaptic layer.
        n_out: Width of this layer.
        theta: Threshold of this layer's neurons.
        weight_std: Std :math:`s` of the weights.
        tol: Largest mass dropped per row is ``tol / 2``.
    """

    def __init__(self, n_in: int, n_out: int, theta: float, weight_std: float, tol: float) -> None:
        self.n_in, self.n_out, self.theta, self.weight_std, self.tol = n_in, n_out, theta, weight_std, tol
        self.blocks: dict[int, tuple[int, sparse.csr_matrix, npt.NDArray[np.float64]]] = {}
        self.entries = 0

    def probabilities(self, low: int, high: int) -> npt.NDArray[np.float64]:
        """:math:`p_k` for the counts ``low..high - 1`` (all at least 1)."""
        k = np.arange(low, high, dtype=np.float64)
        return np.asarray(special.ndtr(-self.theta / (self.weight_std * np.sqrt(k))), dtype=np.float64)

    def block(self, index: int, budget: WorkBudget) -> tuple[int, sparse.csr_matrix, npt.NDArray[np.float64]]:
        """Block ``index`` (counts from ``1 + 256 index``): its first column, its rows (columns from there), drops."""
        if index in self.blocks:
            return self.blocks[index]
        first = 1 + index * _BLOCK
        p = self.probabilities(first, min(first + _BLOCK, self.n_in + 1))
        starts, rows = _binomial_block(self.n_out, p, self.tol)
        lengths = np.array([row.size for row in rows])
        budget.spend(int(lengths.sum()))
        self.entries += int(lengths.sum())
        if self.entries > MAX_CACHED_ENTRIES:
            raise SNNInitError(
                f"the exact finite-width law would hold more than {MAX_CACHED_ENTRIES:.3g} transition-matrix entries "
                f"for layers of {self.n_in} -> {self.n_out} neurons (about 75 MB): the spike counts spread too "
                "widely. Use narrower layers or fewer of them"
            )
        begin = min(int(start) for start in starts)
        span = max(int(start) + row.size for start, row in zip(starts, rows, strict=True)) - begin
        pieces = [int(start) - begin + np.arange(row.size) for start, row in zip(starts, rows, strict=True)]
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        matrix = sparse.csr_matrix((np.concatenate(rows), np.concatenate(pieces), indptr), shape=(p.size, span))
        drops = np.array([max(1.0 - float(row.sum()), 0.0) for row in rows])
        self.blocks[index] = (begin, matrix, drops)
        return self.blocks[index]


def propagate(
    law: SpikeCountLaw, rows: TransitionRows, budget: WorkBudget
) -> tuple[SpikeCountLaw, float, float, npt.NDArray[np.float64]]:
    """One layer of the chain: the next layer's law from this one's, on the rows its counts reach.

    Args:
        law: This layer's spike-count law (over ``0..rows.n_in``).
        rows: The layer's transition rows.
        budget: The call's work budget.

    Returns:
        The next law (tails cut), the mass dropped by the rows' cut tails, the mass of the result's cut
        tails, and the product over counts ``1..n_out`` before its tails were cut.
    """
    n_out, dropped = rows.n_out, 0.0
    out = np.zeros(n_out + 1)
    low, high = law.offset, law.offset + law.values.size
    for index in range((low - 1) // _BLOCK, (high - 2) // _BLOCK + 1) if law.values.size else ():
        begin, matrix, drops = rows.block(index, budget)
        first = 1 + index * _BLOCK
        x = np.zeros(matrix.shape[0])
        a, b = max(low, first), min(high, first + matrix.shape[0])
        x[a - first : b - first] = law.values[a - low : b - low]
        out[begin : begin + matrix.shape[1]] += matrix.T @ x
        budget.spend(matrix.nnz + matrix.shape[1])
        dropped += float(x @ drops)
    zero = out[0]
    if rows.theta >= 0:
        zero += law.zero  # no input spike: the membranes stay at 0, below the threshold
    else:
        out[n_out] += law.zero  # 0 exceeds a negative threshold: every neuron fires
    alive = out[1:]
    offset, values, cut = _trim(alive, 1, rows.tol)
    return SpikeCountLaw(n_out, float(zero), offset, values), dropped, cut, alive


def encoding_survival_bound(theta: float, width: int) -> float:
    r"""An upper bound on the survival at any depth: the encoding layer's :math:`1 - (1 - P(u > \theta))^n`.

    Activity lost is never regained (for :math:`\theta \ge 0`), so no deeper layer is more likely to
    spike than the encoding layer, and this bound grows with the width.
    """
    return float(-np.expm1(width * np.log1p(-firing_probability(theta))))


@dataclass(frozen=True)
class SurvivalBounds:
    """What one run of the homogeneous chain established about :math:`P(k_L > 0)`.

    Attributes:
        estimate: The computed survival (exact up to the bounds).
        lower: A lower bound on the exact survival.
        upper: An upper bound on the exact survival.
        layers: Layers propagated before the answer was known (the rest were bounded, not computed).
    """

    estimate: float
    lower: float
    upper: float
    layers: int


def _geometric(lam: float, m: int) -> tuple[float, float]:
    """(lam^m, sum_{j < m} lam^j) for 0 <= lam <= 1."""
    if lam <= 0:
        return 0.0, 1.0
    if lam >= 1 or m * (1 - lam) < 1e-12:
        return lam**m, float(m)
    return lam**m, float(-math.expm1(m * math.log(lam)) / (1 - lam))


def _extrapolate(law: SpikeCountLaw, product: npt.NDArray[np.float64], row_drop: float, m: int) -> tuple[float, float]:
    """The survival ``m`` layers past ``law`` from one step of the chain, and its error (:func:`survival_bounds`)."""
    s = law.alive()
    q = np.zeros(product.size)
    q[law.offset - 1 : law.offset - 1 + law.values.size] = law.values / s
    step = product / s
    lam = float(step.sum())
    delta = float(np.abs(step - lam * q).sum()) + row_drop / s + 1e-15
    power, total = _geometric(min(lam, 1.0), m)
    return s * power, s * delta * total


def survival_bounds(
    width: int,
    depth: int,
    theta: float,
    weight_std: float,
    *,
    tol: float,
    target: float | None = None,
    budget: WorkBudget | None = None,
) -> SurvivalBounds:
    r"""Bounds on the probability that one step's activity survives ``depth`` layers of ``width`` neurons.

    The chain is propagated layer by layer, each on the support of its current distribution, until the
    answer is known:

    - every computed mass is at most the exact one and the dropped mass :math:`B_l` bounds the rest, and
      for :math:`\theta \ge 0` the survival can only fall with depth (0 spikes is absorbing), so
      :math:`P(k_L > 0) \le \hat s_l + B_l` at every computed layer :math:`l`;
    - with :math:`q` the surviving part of layer :math:`l`'s law normalised to mass 1, one step gives
      :math:`qQ = \lambda q + e` (:math:`Q`: the chain restricted to counts above 0, :math:`\lambda` the
      computed one-step survival, :math:`\|e\|_1 \le \delta` including the rows' cut tails); since
      :math:`Q` never increases an :math:`\ell_1` norm, :math:`\|qQ^m\|_1` lies within
      :math:`\delta \sum_{j<m} \lambda^j` of :math:`\lambda^m`, which bounds the last :math:`m = L - l`
      layers without computing them (once :math:`q` is the chain's quasi-stationary law, :math:`\delta`
      is tiny).

    It stops when the last bound is below ``2 tol`` per layer left (about what propagating them adds), or,
    given ``target``, as soon as the survival is known to be above or below it.

    Args:
        width: Neurons per layer (every layer, including the encoding layer).
        depth: Weight layers after the encoding layer.
        theta: Threshold of every neuron.
        weight_std: Weight std.
        tol: Mass dropped per layer.
        target: Survival to decide against (None: compute the value).
        budget: The work budget (default: :data:`DEFAULT_MAX_WORK`).
    """
    budget = WorkBudget() if budget is None else budget
    law, bound = binomial_law(width, float(special.ndtr(-theta)), tol)
    rows = TransitionRows(width, width, theta, weight_std, tol)
    absorbing, upper = theta >= 0, 1.0
    for layer in range(depth):
        s = law.alive()
        if absorbing:
            upper = min(upper, s + bound + 1e-15 * (layer + 1))
            if s == 0.0 or (target is not None and upper < target):
                return SurvivalBounds(s, s, upper, layer)
        following, row_drop, cut, product = propagate(law, rows, budget)
        if absorbing:
            estimate, error = _extrapolate(law, product, row_drop, depth - layer)
            low, high = max(estimate - error, 0.0), min(estimate + error + bound, upper)
            known = target is not None and (low >= target or high < target)
            if known or error <= 2 * tol * (depth - layer + 1):  # about the error propagating the rest would add
                return SurvivalBounds(estimate, low, high, layer)
        law, bound = following, bound + row_drop + cut
    s = law.alive()
    return SurvivalBounds(s, s, min(upper, s + bound + 1e-15 * (depth + 1)), depth)
