"""Benchmark and validation: figure T1 at full scale (100 layers of 1000, 20 steps) on one backend.

Runs every cell of the grid (beta x theta x reset ordering x input) under Eq. 10 and the temporal
rule, prints the Markdown summary (the within-10% counts, the per-cell table, every miss with its
reason), the wall time, and the cost of ``temporal_weight_variance`` per dynamics: the first call
(computed) against a second call (cached), measured in the same run, with the target of 2 s.
Cells are stored as they finish under ``--out``: an interrupted run resumes where it stopped.

Run: ``python benchmarks/temporal_grid.py --backend reference --runs 5 --out results``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from snninit_adapters.experiments.temporal import run_temporal_grid
from snninit_adapters.experiments.temporal_cells import GRID, grid_cells
from snninit_adapters.theory import Dynamics, temporal_weight_variance

TARGET_SECONDS = 2.0


def rule_cost(steps: int) -> None:
    """Time temporal_weight_variance for every dynamics of the grid: computed, then from the cache."""
    worst, total, cached = 0.0, 0.0, 0.0
    settings = {(c["reset"], c["timing"], c["source"], c["beta"], c["theta"]) for c in grid_cells(GRID, "reference")}
    for reset, timing, source, beta, theta in sorted(settings):
        dynamics = Dynamics(beta=beta, theta=theta, reset=reset, timing=timing, steps=steps, input=source)
        start = time.perf_counter()
        temporal_weight_variance(1000, dynamics)
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        temporal_weight_variance(2000, dynamics)
        cached += time.perf_counter() - start
        worst, total = max(worst, elapsed), total + elapsed
    count = len(settings)
    print(
        f"temporal_weight_variance, T = {steps}, {count} dynamics: mean {total / count:.2f} s, worst {worst:.2f} s "
        f"(target {TARGET_SECONDS:g} s, ratio {worst / TARGET_SECONDS:.2f}); cached {1e3 * cached / count:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="reference")
    parser.add_argument("--runs", type=int, default=GRID.runs)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--quick", action="store_true", help="30 layers, 10 steps, one run (CI's version)")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()
    if args.backend == "reference":
        rule_cost(10 if args.quick else GRID.steps)
    start = time.perf_counter()
    result = run_temporal_grid(backend=args.backend, out=args.out, quick=args.quick, runs=args.runs,
                               plot=not args.no_plot)  # fmt: skip
    elapsed = time.perf_counter() - start
    print(result.summary)
    print(f"{args.backend}: {result.computed} cells computed, {result.reused} reused, {elapsed:.0f} s")
    for path in (result.csv, result.summary_path, *result.figures):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
