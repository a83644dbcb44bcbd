"""Benchmark: the paper-scale propagation suite (Figs. 2-7) on the reference backend.

Prints the wall time per figure and the total against the target of 10 minutes on the 2-core
development machine. Every run starts from an empty output folder (no cell is reused).

Run: ``python benchmarks/propagation.py [--out DIR] [--figures 2 3 ...] [--no-plot]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from snninit_adapters.experiments import figure_spec, run_propagation

TARGET_SECONDS = 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--figures", type=int, nargs="+", default=[2, 3, 4, 5, 6, 7])
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        total = 0.0
        for number in args.figures:
            spec = figure_spec(number)
            start = time.perf_counter()
            result = run_propagation(number, out=out / "bench", progress=False, plot=not args.no_plot)
            elapsed = time.perf_counter() - start
            total += elapsed
            holds = sum(claim.holds for claim in _claims(result))
            print(
                f"fig {number}: {elapsed:7.1f} s  ({result.computed} cells; {len(spec.methods)} methods x "
                f"{len(spec.thresholds)} thresholds x {len(spec.widths)} widths x {spec.runs} runs, "
                f"{spec.depth} layers, {spec.steps} steps; claims holding: {holds}/{len(_claims(result))})"
            )
    print(
        f"total: {total:.1f} s for figures {args.figures}; "
        f"target {TARGET_SECONDS:.0f} s; ratio {total / TARGET_SECONDS:.2f}"
    )


def _claims(result):
    from snninit_adapters.experiments import claims

    return claims(result.spec, result.rows)


if __name__ == "__main__":
    main()
