"""Figure T1's Markdown summary and heat maps: the measured depth ratios beside what the theory says of each cell."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from snninit_adapters.experiments.temporal_cells import METHODS, GridSpec, theory_of
from snninit_adapters.theory import TemporalVariance

__all__ = ["CellResult", "cell_results", "plot_grid", "summarise_grid"]

TOLERANCE = 0.1
"""The temporal rule keeps a cell when the rate at every checked layer is within 10% of layer 1's."""

_LABELS = {("soft", "after_leak"): "soft, after leak (Eq. 13)", ("soft", "before_leak"): "soft, before leak",
           ("hard", "before_leak"): "hard", ("none", "before_leak"): "none"}  # fmt: skip


class CellResult:
    """One setting of the grid: the measured rates per method (mean over runs) and the theory's verdict."""

    def __init__(self, setting: tuple[Any, ...], rates: dict[str, npt.NDArray[np.float64]], spec: GridSpec) -> None:
        self.reset, self.timing, self.source, self.beta, self.theta = setting
        self.rates, self.spec = rates, spec
        cell = {"reset": self.reset, "timing": self.timing, "source": self.source, "beta": self.beta,
                "theta": self.theta, "steps": spec.steps, "width": spec.width}  # fmt: skip
        self.theory: TemporalVariance = theory_of(cell)

    def ratio(self, method: str, layer: int) -> float:
        """The time-averaged rate at ``layer`` over layer 1's (NaN when layer 1 is silent)."""
        rates = self.rates.get(method)
        if rates is None or rates[1] <= 0:
            return math.nan
        return float(rates[layer] / rates[1])

    def kept(self, method: str) -> bool:
        """Every checked layer within 10% of layer 1."""
        return all(abs(self.ratio(method, layer) - 1) <= TOLERANCE for layer in self.spec.checked)

    @property
    def stable(self) -> bool:
        """The theory's deep fixed point is stable and not alternating."""
        return self.theory.stable

    def reason(self) -> str:
        """Why the temporal rule misses this cell, as far as the theory knows."""
        theory, found = self.theory, []
        point = theory.fixed_point
        if theory.lifted:
            why = "below the floor" if theory.below_floor else "between two fixed points"
            found.append(f"infeasible: target {theory.target_rate:.3g} {why}, lifted to {theory.rate:.3g}")
        if theory.lowered:
            found.append(f"infeasible: the deep layers reach at most {theory.rate:.3g}")
        if point.period == 2:
            found.append("period-2 alternation")
        elif not self.stable:
            found.append(f"unstable (factor {point.stability:.2f})")
        return "; ".join(found) or (
            f"feasible and stable (factor {point.stability:.2f}): finite width, which the mean-field rule does not "
            "model (a factor near 1 restores slowly; frozen patterns at beta = 0 get no averaging over steps)"
        )


def cell_results(spec: GridSpec, rows: Sequence[dict[str, Any]]) -> list[CellResult]:
    """The rows grouped by setting, rates averaged over runs per layer, in the grid's order."""
    grouped: dict[tuple[Any, ...], dict[str, list[list[float]]]] = defaultdict(lambda: defaultdict(list))
    runs: dict[tuple[Any, ...], dict[tuple[str, int], list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        setting = (row["reset"], row["timing"], row["source"], float(row["beta"]), float(row["theta"]))
        runs[setting][(row["method"], int(row["run"]))].append(float(row["rate"]))
    for setting, by_run in runs.items():
        for (method, _), layers in sorted(by_run.items()):
            grouped[setting][method].append(layers)
    order = {(r, t, s, b, th): i for i, (r, t, s, b, th) in enumerate(
        (r, t, s, b, th) for r, t in spec.orderings for s in spec.sources for b in spec.betas for th in spec.thetas
    )}  # fmt: skip
    results = [CellResult(setting, {m: np.mean(np.asarray(v), axis=0) for m, v in methods.items()}, spec)
               for setting, methods in grouped.items()]  # fmt: skip
    return sorted(results, key=lambda result: order.get(
        (result.reset, result.timing, result.source, result.beta, result.theta), len(order)))  # fmt: skip


def _ratios(result: CellResult, method: str, layers: Sequence[int]) -> str:
    return ", ".join(f"{result.ratio(method, layer):.3g}" for layer in layers)


def summarise_grid(spec: GridSpec, backend: str, rows: Sequence[dict[str, Any]]) -> str:
    """The Markdown summary: the counts, the per-cell table, and every cell the temporal rule misses with why."""
    results = cell_results(spec, rows)
    last, checked = spec.depth, spec.checked
    good = [r for r in results if r.theory.feasible and r.stable]
    lines = [
        "# Fig. T1: the time-averaged rate over depth and time, Eq. 10 against the temporal rule",
        "",
        f"Backend `{backend}`; {spec.depth} layers of n = {spec.width}, {spec.steps} steps, {spec.runs} run(s) "
        "per cell; rate: the fraction of a layer's neurons that fire, averaged over steps and runs. "
        f"Ratios: the rate at layers {', '.join(map(str, checked))} over layer 1's.",
        "",
        f"- **temporal rule**: within {TOLERANCE:.0%} of layer 1 at every checked layer in "
        f"{sum(r.kept(METHODS[1]) for r in good)} of {len(good)} feasible, stable cells "
        f"({sum(r.kept(METHODS[1]) for r in results)} of {len(results)} cells in all)",
        f"- **Eq. 10**: within {TOLERANCE:.0%} in {sum(r.kept(METHODS[0]) for r in good)} of {len(good)} "
        f"feasible, stable cells ({sum(r.kept(METHODS[0]) for r in results)} of {len(results)} in all)",
        "",
        f"| reset | input | beta | theta | Eq. 10: l{last}/l1 | temporal: {', '.join(f'l{c}/l1' for c in checked)} "
        "| temporal rate at l1 | target -> aimed | feasible | stability | kept |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        point = r.theory.fixed_point
        stability = "period 2" if point.period == 2 else f"{point.stability:.2f}"
        rates = r.rates.get(METHODS[1])
        lines.append(
            f"| {_LABELS[(r.reset, r.timing)]} | {r.source} | {r.beta:g} | {r.theta:g} | "
            f"{r.ratio(METHODS[0], last):.3g} | {_ratios(r, METHODS[1], checked)} | "
            f"{(rates[1] if rates is not None else math.nan):.3g} | {r.theory.target_rate:.3g} -> "
            f"{r.theory.rate:.3g} | {'yes' if r.theory.feasible else 'no'} | {stability} | "
            f"{'yes' if r.kept(METHODS[1]) else 'no'} |"
        )
    missed = [r for r in results if not r.kept(METHODS[1])]
    lines += ["", f"## Cells the temporal rule misses ({len(missed)})", ""]
    lines += [f"- {_LABELS[(r.reset, r.timing)]}, {r.source}, beta {r.beta:g}, theta {r.theta:g}: ratios "
              f"{_ratios(r, METHODS[1], checked)}; {r.reason()}" for r in missed] or ["- none"]  # fmt: skip
    return "\n".join(lines) + "\n"


def plot_grid(spec: GridSpec, backend: str, rows: Sequence[dict[str, Any]], stem: Path) -> tuple[Path, ...]:
    """Heat maps of log2(rate at the last layer / layer 1): reset orderings x (input, method), beta x theta each.

    Marks: L, the target is infeasible (below the floor, or between two fixed points) and the rule lifts
    it; U, unstable; 2, period-2 alternation; n/a, not run.
    """
    from snninit_adapters.plotting import pyplot

    plt = pyplot()
    found = {(r.reset, r.timing, r.source, r.beta, r.theta): r for r in cell_results(spec, rows)}
    columns = [(source, method) for source in spec.sources for method in METHODS]
    fig, axes = plt.subplots(len(spec.orderings), len(columns), figsize=(3.3 * len(columns), 2.7 * len(spec.orderings)),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    image = None
    for i, ordering in enumerate(spec.orderings):
        for j, (source, method) in enumerate(columns):
            ax = axes[i][j]
            values = np.full((len(spec.betas), len(spec.thetas)), np.nan)
            for a, beta in enumerate(spec.betas):
                for b, theta in enumerate(spec.thetas):
                    result = found.get((*ordering, source, beta, theta))
                    text = "n/a"
                    if result is not None:
                        ratio = result.ratio(method, spec.depth)
                        values[a, b] = math.log2(ratio) if ratio > 0 else -4.0
                        text = f"{ratio:.2f}" + _marks(result)
                    dark = abs(values[a, b]) > 1.3  # white on the darkest colours
                    ax.text(b, a, text, ha="center", va="center", fontsize=7.5, color="white" if dark else "black")
            image = ax.imshow(values, cmap="RdBu", vmin=-2, vmax=2, origin="lower", aspect="auto")
            ax.set_xticks(range(len(spec.thetas)), [f"{t:g}" for t in spec.thetas])
            ax.set_yticks(range(len(spec.betas)), [f"{b:g}" for b in spec.betas])
            ax.set(xlabel="theta" if i == len(spec.orderings) - 1 else None, ylabel="beta" if j == 0 else None)
            name = "Eq. 10" if method == METHODS[0] else "temporal rule"
            ax.set_title(f"{_LABELS[ordering]}\n{source} input, {name}", fontsize=8.5)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label=f"log2(rate l{spec.depth} / rate l1)")
    fig.suptitle(f"Fig. T1 ({backend}): rate at layer {spec.depth} over layer 1, time-averaged over {spec.steps} steps"
                 "  (L: target infeasible, lifted; U: unstable; 2: period 2)", fontsize=10)  # fmt: skip
    paths = (stem.with_suffix(".png"), stem.with_suffix(".pdf"))
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths


def _marks(result: CellResult) -> str:
    point = result.theory.fixed_point
    marks = ("L" if result.theory.lifted else "") + ("2" if point.period == 2 else "U" if not result.stable else "")
    return f" {marks}" if marks else ""
