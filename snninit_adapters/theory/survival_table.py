r"""A precomputed table of where single-step activity survives, so the report's advice costs microseconds.

:func:`~snninit_adapters.theory.recommend_width` and :func:`~snninit_adapters.theory.max_threshold`
answer exactly, but each is a search over many exact chain evaluations (tens of milliseconds to
seconds). ``apply_snn_init``'s report only needs an estimate, so it reads this table instead.

For each width :math:`n` of a grid (8 to 4096, ratio :math:`2^{1/4}`) and threshold :math:`\theta` of
a grid (0 to 3, step 0.025), :func:`survival_profile` runs the exact chain of
:mod:`~snninit_adapters.theory.spike_counts` under the paper's weights and keeps

- the exact probability :math:`P(k_L = 0)` that activity is lost by depth :math:`L`, for
  :math:`L = 1 .. 8` (each layer's loss added from :math:`\sum_k P(k) (1 - p_k)^n`, so tiny values
  keep their precision);
- the *reach* :math:`D`: the depth at which the survival falls to 0.99, where it crosses, with
  :math:`\log s` interpolated linearly between the two layers (:math:`s(L) \ge 0.99 \iff D \ge L` at
  every integer depth). Once the surviving part of the law has settled (its shape changes by less
  than ``1e-8`` in :math:`\ell_1` from one layer to the next: the quasi-stationary law), the
  survival decays geometrically, :math:`s(l + m) = s(l) \lambda^m` with :math:`1 - \lambda` the
  quasi-stationary loss rate, and :math:`D = l + \log(s(l)/0.99) / (-\log \lambda)` (capped at
  :math:`10^9`).

A question about depth :math:`L \le 8` interpolates :math:`\log P(k_L = 0)` (smooth in width and
threshold) bilinearly in :math:`(\log n, \theta)`; a deeper one interpolates :math:`\log(1 + D)`. The
width asked for is where the interpolated value crosses 0.99 along the widths, the threshold where
it crosses along the thresholds. ``python -m snninit_adapters.theory.survival_table --regenerate``
rebuilds the table (about two minutes on one core); docs/finite_width.md gives its measured accuracy.
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import special

from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory.finite_width import DEFAULT_TOL
from snninit_adapters.theory.spike_counts import (
    DEFAULT_MAX_WORK,
    SpikeCountLaw,
    TransitionRows,
    WorkBudget,
    binomial_law,
    propagate,
)
from snninit_adapters.theory.variance import snn_weight_variance

__all__ = [
    "SurvivalProfile",
    "SurvivalTable",
    "generate_survival_table",
    "load_survival_table",
    "survival_profile",
]

TABLE_PATH = Path(__file__).with_name("survival_table.npy")
"""The table shipped with the package: one float32 array ``(SHALLOW_DEPTH + 1, thetas, widths)``, the loss
probabilities' logs for depths 1..8, then the reaches' ``log(1 + D)``, on the grid of :data:`TABLE_WIDTHS`
and :data:`TABLE_THETAS`."""

TABLE_SURVIVAL = 0.99
TABLE_WIDTHS = tuple(sorted({round(8 * 2 ** (i / 4)) for i in range(37)}))  # 8 .. 4096
TABLE_THETAS = tuple(round(0.025 * i, 3) for i in range(121))  # 0 .. 3
SHALLOW_DEPTH = 8
"""Depths up to this one are answered from the exact loss probabilities, deeper ones from the reach."""

MAX_REACH = 1e9
MAX_DEPTH = 100_000
"""The deepest chain the table answers for (its reach is capped far beyond it)."""

FAILURE_FLOOR = 1e-16
"""Loss probabilities are stored down to this (below it the law's own error, about 1e-13 per layer, dominates)."""

SETTLED = 1e-8
MAX_LAYERS = 20_000


@dataclass(frozen=True)
class SurvivalProfile:
    """How activity dies out along a homogeneous chain under the paper's weights (one step).

    Attributes:
        width: Neurons per layer.
        theta: Threshold of every neuron (in membrane stds).
        losses: :math:`P(k_L = 0)` for ``L = 1 .. len(losses)``.
        reach: The depth :math:`D` at which the survival falls to the target (``s(L) >= target`` exactly
            when ``L <= D``), at most :data:`MAX_REACH`.
        layers: Layers propagated.
        settled: Whether the reach was extrapolated from the settled (quasi-stationary) law.
    """

    width: int
    theta: float
    losses: tuple[float, ...]
    reach: float
    layers: int
    settled: bool


def _lost(law: SpikeCountLaw, width: int, theta: float, std: float) -> float:
    r"""The mass this layer's spikes send to 0 spikes in the next: :math:`\sum_k P(k) (1 - p_k)^n`."""
    p = special.ndtr(-theta / (std * np.sqrt(law.counts())))
    return float(law.values @ np.exp(width * np.log1p(-p)))


def _settled(law: SpikeCountLaw, product: npt.NDArray[np.float64], alive: float) -> bool:
    """Whether the surviving part of the law keeps its shape over one layer (to ``SETTLED`` in l1)."""
    q = np.zeros(product.size)
    q[law.offset - 1 : law.offset - 1 + law.values.size] = law.values / alive
    step = float(product.sum()) / alive
    return step > 0 and float(np.abs(product / (alive * step) - q).sum()) < SETTLED


def _geometric_reach(layer: int, alive: float, loss: float, survival: float) -> float:
    if loss <= 0:
        return MAX_REACH
    return min(MAX_REACH, layer + math.log(alive / survival) / -math.log1p(-loss))


def survival_profile(
    width: int,
    theta: float,
    *,
    survival: float = TABLE_SURVIVAL,
    shallow: int = SHALLOW_DEPTH,
    tol: float = DEFAULT_TOL,
    max_work: int = DEFAULT_MAX_WORK,
) -> SurvivalProfile:
    """The loss probabilities of the first ``shallow`` layers and the reach of ``width``-neuron layers at ``theta``.

    Under the paper's initialisation, every layer (the encoding one included) ``width`` neurons wide;
    the exact chain, propagated until the reach is known (the survival falls below ``survival``, or
    the surviving law has settled and the rest is geometric) and ``shallow`` layers are done.

    Raises:
        SNNInitError: For a negative threshold (0 spikes is then not absorbing), or past ``max_work``.
    """
    if not (width >= 1 and math.isfinite(theta) and theta >= 0 and 0 < survival < 1):
        raise SNNInitError(f"need width >= 1, theta >= 0 and 0 < survival < 1, got {width}, {theta}, {survival}")
    std = math.sqrt(snn_weight_variance(width, theta))
    budget = WorkBudget(max_work, f"the survival profile of {width} neurons at theta = {theta:g}")
    p_first = float(special.ndtr(-theta))
    law, _ = binomial_law(width, p_first, tol)
    rows = TransitionRows(width, width, theta, std, tol)
    lost_total = math.exp(width * math.log1p(-p_first)) if p_first < 1 else 0.0
    losses: list[float] = []
    reach, settled, layer, loss = (0.0 if law.alive() < survival else None), False, 0, 0.0
    while (reach is None or len(losses) < shallow) and layer < MAX_LAYERS:
        alive = law.alive()
        lost = _lost(law, width, theta, std)
        following, _, _, product = propagate(law, rows, budget)
        loss = lost / alive if alive > 0 else 1.0
        if reach is None and layer >= 1 and _settled(law, product, alive):
            reach, settled = _geometric_reach(layer, alive, loss, survival), True
        lost_total += lost
        if len(losses) < shallow:
            losses.append(min(lost_total, 1.0))
        after = following.alive()
        if reach is None and after < survival:
            reach = layer + (math.log(alive / survival) / math.log(alive / after) if after > 0 else 0.0)
        law, layer = following, layer + 1
    if reach is None:  # not settled within MAX_LAYERS: the last layer's loss rate for the rest
        reach = _geometric_reach(layer, law.alive(), loss, survival)
    return SurvivalProfile(int(width), float(theta), tuple(losses), float(reach), layer, settled)


def _bracket(grid: npt.NDArray[np.float64], x: float) -> tuple[int, float]:
    """The cell ``grid[i] <= x <= grid[i + 1]`` and the fraction of the way across it."""
    i = min(int(np.searchsorted(grid, x, side="right")) - 1, grid.size - 2)
    return i, (x - float(grid[i])) / float(grid[i + 1] - grid[i])


@dataclass(frozen=True)
class SurvivalTable:
    """The survival profiles of a grid of widths and thresholds, and the advice read from them.

    Attributes:
        widths: The grid's widths (increasing).
        thetas: The grid's thresholds (increasing, in membrane stds).
        losses: ``log P(k_L = 0)`` (floored at :data:`FAILURE_FLOOR`), shape ``(shallow, thetas, widths)``.
        reach: ``log(1 + D)`` of every cell's reach, shape ``(thetas, widths)``.
        survival: The survival the reach is measured against.
    """

    widths: npt.NDArray[np.float64]
    thetas: npt.NDArray[np.float64]
    losses: npt.NDArray[np.float64]
    reach: npt.NDArray[np.float64]
    survival: float

    def _field(self, depth: int) -> tuple[npt.NDArray[np.float64], float] | None:
        """A grid of values that grow with the survival at ``depth``, and the value that means ``survival``."""
        if not 1 <= depth <= MAX_DEPTH:
            return None
        if depth <= self.losses.shape[0]:
            return -self.losses[depth - 1], -math.log1p(-self.survival)
        return self.reach, math.log1p(depth)

    def width(self, theta: float, depth: int) -> float | None:
        """About the smallest width whose activity survives ``depth`` layers at ``theta`` with ``survival``.

        Returns:
            The width (a real number: round it up), ``inf`` if even the widest in the grid falls short, or
            None when the table cannot say (``theta`` or ``depth`` outside it, or a width below its narrowest).
        """
        field = self._field(depth)
        if field is None or not self.thetas[0] <= theta <= self.thetas[-1]:
            return None
        j, t = _bracket(self.thetas, theta)
        values = (1 - t) * field[0][j] + t * field[0][j + 1]
        above = np.flatnonzero(values >= field[1])
        if above.size == 0:
            return math.inf
        i = int(above[0])
        if i == 0:
            return None
        a, b, logs = float(values[i - 1]), float(values[i]), np.log(self.widths[i - 1 : i + 1])
        return math.exp(float(logs[0]) + (field[1] - a) / (b - a) * float(logs[1] - logs[0]))

    def threshold(self, width: float, depth: int) -> float | None:
        """About the largest threshold at which ``width``-neuron layers keep activity over ``depth`` layers.

        Returns:
            The threshold, 0.0 if even ``theta = 0`` falls short, or None when the table cannot say
            (``width`` or ``depth`` outside it, or an answer above its highest threshold).
        """
        field = self._field(depth)
        if field is None or not self.widths[0] <= width <= self.widths[-1]:
            return None
        i, t = _bracket(np.log(self.widths), math.log(width))
        values = (1 - t) * field[0][:, i] + t * field[0][:, i + 1]
        below = np.flatnonzero(values < field[1])
        if below.size == 0:
            return None
        j = int(below[0])
        if j == 0:
            return 0.0
        a, b = float(values[j - 1]), float(values[j])
        return float(self.thetas[j - 1]) + (a - field[1]) / (a - b) * float(self.thetas[j] - self.thetas[j - 1])

    def save(self, path: str | Path) -> None:
        """Write the table's values as one float32 ``.npy`` array (the form :func:`load_survival_table` reads)."""
        np.save(path, np.concatenate([self.losses, self.reach[None]]).astype(np.float32))


def generate_survival_table(
    widths: Sequence[int] = TABLE_WIDTHS, thetas: Sequence[float] = TABLE_THETAS, *, verbose: bool = False
) -> SurvivalTable:
    """The table of :func:`survival_profile` over ``widths x thresholds`` (the shipped one by default)."""
    losses = np.zeros((SHALLOW_DEPTH, len(thetas), len(widths)))
    reach = np.zeros((len(thetas), len(widths)))
    for j, theta in enumerate(thetas):
        start = time.perf_counter()
        for i, width in enumerate(widths):
            profile = survival_profile(int(width), float(theta))
            losses[:, j, i] = np.log(np.maximum(profile.losses, FAILURE_FLOOR))
            reach[j, i] = math.log1p(profile.reach)
        if verbose:
            print(f"theta = {theta:g}: {time.perf_counter() - start:.2f} s", flush=True)
    return SurvivalTable(np.array(widths, dtype=np.float64), np.array(thetas, dtype=np.float64), losses, reach,
                         TABLE_SURVIVAL)  # fmt: skip


@functools.cache
def load_survival_table(path: str | Path = TABLE_PATH) -> SurvivalTable:
    """The table shipped with the package, on the grid :data:`TABLE_WIDTHS` x :data:`TABLE_THETAS` (read once).

    Raises:
        SNNInitError: When the file is missing, unreadable or not of the grid's shape.
    """
    shape = (SHALLOW_DEPTH + 1, len(TABLE_THETAS), len(TABLE_WIDTHS))
    try:
        values = np.load(path).astype(np.float64)
    except (OSError, ValueError) as error:
        raise SNNInitError(f"the survival table {path} cannot be read ({error})") from error
    if values.shape != shape:
        raise SNNInitError(f"the survival table {path} has shape {values.shape}, not the grid's {shape}: regenerate it")
    grid = np.array(TABLE_WIDTHS, dtype=np.float64), np.array(TABLE_THETAS, dtype=np.float64)
    return SurvivalTable(*grid, values[:SHALLOW_DEPTH], values[SHALLOW_DEPTH], TABLE_SURVIVAL)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m snninit_adapters.theory.survival_table --regenerate [--output PATH]``."""
    parser = argparse.ArgumentParser(description="Rebuild the survival table the report's advice reads.")
    parser.add_argument("--regenerate", action="store_true", help="compute the table and write it")
    parser.add_argument("--output", default=str(TABLE_PATH), help="where to write it (default: the packaged file)")
    args = parser.parse_args(argv)
    if not args.regenerate:
        parser.error("nothing to do: pass --regenerate")
    start = time.perf_counter()
    table = generate_survival_table(verbose=True)
    table.save(args.output)
    print(f"{len(TABLE_WIDTHS)} widths x {len(TABLE_THETAS)} thresholds in {time.perf_counter() - start:.0f} s: "
          f"{args.output}")  # fmt: skip


if __name__ == "__main__":
    main()
