"""The Time page's numbers, computed while the docs are built (about a minute on the 2-core machine).

- ``time-gains.md``: the critical gain, Eq. 10's gain and first-step slope per threshold;
- ``time-floors.md``: per reset ordering and leak, the floor and the temporal rule's deep gain at theta = 1;
- ``time-fig6.md``: the paper's Fig. 6 setting (beta = 0.5, theta = 1, constant input, 100 layers of
  1000, 20 steps, 3 networks) under each reset ordering, Eq. 10 against the temporal rule;
- ``figT1-quick.png`` / ``figT1-quick.md``: figure T1 in CI's version (30 layers, 10 steps, one run).
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import replace
from pathlib import Path

ORDER_NAMES = {("soft", "after_leak"): "soft, after the leak (Eq. 13; snnTorch's default)",
               ("soft", "before_leak"): "soft, before the leak (SpikingJelly, Norse)",
               ("hard", "before_leak"): "hard (to 0)", ("none", "before_leak"): "none"}  # fmt: skip


def gains_table() -> str:
    """kappa_c, and Eq. 10's kappa and the slope of the one-step map at its fixed point r = Q(theta)."""
    from scipy import special, stats

    from snninit_adapters.theory import critical_gain

    kappa_c, a_c = critical_gain()
    lines = [f"The critical gain: $\\kappa_c = {kappa_c:.4f}$, at $a = {a_c:.4f}$.", "",
             "| theta | Eq. 10's kappa = 1 / (theta^2 Q(theta)) | slope of the one-step map at r = Q(theta) | branch |",
             "|---|---|---|---|"]  # fmt: skip
    for theta in (0.5, 1.0, 1.19, 1.5, 2.0):
        q = float(special.ndtr(-theta))
        slope = theta * float(stats.norm.pdf(theta)) / (2 * q)
        branch = "stable" if slope < 1 else "unstable (the layers leave it)"
        lines.append(f"| {theta:g} | {1 / (theta * theta * q):.3f} | {slope:.3f} | {branch} |")
    return "\n".join(lines) + "\n"


def floors_table(steps: int = 20) -> str:
    """Per ordering and leak at theta = 1 and T = steps: the floor, and the temporal rule's deep fixed point."""
    from snninit_adapters.theory import Dynamics, temporal_weight_variance

    lines = [f"$T = {steps}$ steps, $\\theta = 1$, target $Q(1) = 0.159$, the encoding layer's constant input.", "",
             "| reset | beta | floor rate | rule's kappa* | aims at | deep rate | stability | feasible |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for (reset, timing), name in ORDER_NAMES.items():
        for beta in (0.0, 0.5, 0.9, 0.95):
            rule = temporal_weight_variance(1000, Dynamics(beta=beta, reset=reset, timing=timing, steps=steps))
            point = rule.fixed_point
            stability = "period 2" if point.period == 2 else f"{point.stability:.2f}"
            lines.append(f"| {name} | {beta:g} | {rule.floor.rate:.3f} | {rule.kappa_deep:.3f} | {rule.rate:.3f} | "
                         f"{point.rate:.3f} | {stability} | {'yes' if rule.feasible else 'no'} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def fig6_table(runs: int = 3) -> str:
    """The paper's Fig. 6 setting under each reset ordering: Var[u] and rate at layer 100 against layer 1, judged.

    Eq. 10's rows are judged by the two claims of Fig. 6 with the tolerances of
    :mod:`snninit_adapters.experiments.claims`: Var[u] at the last layer, averaged over steps, within
    APPROXIMATELY; the rate there between SLOW and 1 times layer 1's.
    """
    import numpy as np

    from snninit_adapters.experiments.claims import APPROXIMATELY, SLOW
    from snninit_adapters.experiments.temporal_cells import GRID, METHODS, grid_cells, run_cell

    spec = replace(GRID, betas=(0.5,), thetas=(1.0,), sources=("constant",), runs=runs)
    found: dict[tuple[str, str, str], list[list[tuple[float, float]]]] = {}
    for cell in grid_cells(spec, "reference"):
        for method in METHODS:
            rows = [row for row in run_cell(cell) if row["method"] == method]
            found.setdefault((cell["reset"], cell["timing"], method), []).append(
                [(r["rate"], r["var_u"]) for r in rows]
            )
    low, high = APPROXIMATELY
    lines = [f"$\\beta = 0.5$, $\\theta = 1$, constant input, {spec.depth} layers of {spec.width}, {spec.steps} "
             f"steps, {runs} networks; rates and Var[u] averaged over steps and networks. Eq. 10 judged as Fig. 6's "
             f"claims are: Var[u] at layer {spec.depth} in [{low:g}, {high:g}] (approximately conserved) and its "
             f"rate between {SLOW:g} and 1 times layer 1's (a slow decrease).", "",
             f"| reset | Eq. 10: Var[u] l1 | Eq. 10: Var[u] l{spec.depth} | conserved | Eq. 10: rate l1 | "
             f"Eq. 10: l{spec.depth}/l1 | slow decrease | temporal: rate l1 | temporal: l{spec.depth}/l1 |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    both = []
    for (reset, timing), name in ORDER_NAMES.items():
        values = {m: np.nanmean(np.asarray(found[(reset, timing, m)]), axis=0) for m in METHODS}  # (layers, 2)
        eq10, temporal = values["micheli2024"], values["micheli2024_temporal"]
        ratio = eq10[-1, 0] / eq10[1, 0] if eq10[1, 0] else float("nan")
        kept = temporal[-1, 0] / temporal[1, 0] if temporal[1, 0] else float("nan")
        conserved = "yes" if low <= eq10[-1, 1] <= high else "no"
        slow = "yes" if SLOW <= ratio <= 1 else "no"
        lines.append(f"| {name} | {eq10[1, 1]:.3g} | {eq10[-1, 1]:.3g} | {conserved} | {eq10[1, 0]:.3f} | "
                     f"{ratio:.3f} | {slow} | {temporal[1, 0]:.3f} | {kept:.3f} |")  # fmt: skip
        if conserved == slow == "yes":
            both.append(name)
    lines += ["", "Under Eq. 10, the resets that give both of Fig. 6's claims: "
              + (", ".join(both) if both else "none") + "."]  # fmt: skip
    return "\n".join(lines) + "\n"


def generate(out: Path, results: Path) -> None:
    """Write the Time page's tables and figure T1's quick version into ``out``."""
    from snninit_adapters.experiments.temporal import run_temporal_grid

    start = time.perf_counter()
    (out / "time-gains.md").write_text(gains_table(), encoding="utf-8")
    (out / "time-floors.md").write_text(floors_table(), encoding="utf-8")
    (out / "time-fig6.md").write_text(fig6_table(), encoding="utf-8")
    grid = run_temporal_grid(quick=True, out=results, progress=False)
    shutil.copyfile(grid.figures[0], out / "figT1-quick.png")
    summary = grid.summary.split("\n", 1)[1].replace("\n## ", "\n### ")
    seconds = math.ceil(time.perf_counter() - start)
    (out / "figT1-quick.md").write_text(
        f"Computed while these pages were built (with the tables above, {seconds} s): "
        f"`snninit experiments propagation --figure T1 --quick`.\n{summary}",
        encoding="utf-8",
    )
