"""Run figure T1 (the grid of :mod:`~snninit_adapters.experiments.temporal_cells`): cells, CSV, heat maps, summary."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from snninit_adapters.experiments.propagation import progress_bar
from snninit_adapters.experiments.store import CellStore, run_or_reuse, write_csv_atomic, write_text_atomic
from snninit_adapters.experiments.temporal_cells import COLUMNS, GRID, GridSpec, grid_cells, run_cell
from snninit_adapters.experiments.temporal_summary import plot_grid, summarise_grid

__all__ = ["TemporalGridResult", "run_temporal_grid"]


@dataclass(frozen=True)
class TemporalGridResult:
    """What a run of figure T1 produced.

    Attributes:
        spec: The grid's settings.
        backend: The backend it ran on.
        rows: The tidy table (one row per cell, run, method and layer).
        csv: Path of the tidy CSV.
        figures: Paths of the PNG and PDF figure.
        summary_path: Path of the Markdown summary.
        summary: The Markdown summary.
        computed: Cells simulated by this run.
        reused: Cells found finished from an earlier run.
    """

    spec: GridSpec
    backend: str
    rows: list[dict[str, Any]]
    csv: Path
    figures: tuple[Path, ...]
    summary_path: Path
    summary: str
    computed: int
    reused: int


def run_temporal_grid(
    *,
    backend: str = "reference",
    out: Path | str = "results",
    quick: bool = False,
    runs: int | None = None,
    seed: int = 0,
    progress: bool = True,
    plot: bool = True,
    grid: GridSpec | None = None,
) -> TemporalGridResult:
    """Run figure T1 on a backend and write its CSV, heat maps and Markdown summary.

    Finished cells are stored as they finish and reused by a rerun (an interrupted run keeps them).

    Args:
        backend: ``"reference"``, ``"snntorch"``, ``"spikingjelly"`` or ``"norse"``.
        out: Output folder; the files go to ``out/figT1/<backend>/``.
        quick: 30 layers, 10 steps, one run (the version CI runs).
        runs: Networks per cell instead of the spec's.
        seed: Base seed.
        progress: Show a progress bar (needs tqdm).
        plot: Draw the heat maps (needs matplotlib).
        grid: A grid of its own (a subset of the leaks, thresholds, ...) instead of figure T1's.

    Returns:
        The rows and the paths written.

    Raises:
        ValueError: For an unknown backend.
    """
    from snninit_adapters.backends import FRAMEWORKS

    if backend not in ("reference", *FRAMEWORKS):
        raise ValueError(f"figure T1 runs on 'reference' or a framework ({', '.join(FRAMEWORKS)}), not {backend!r}")
    spec = grid or (GRID.quick() if quick else GRID)
    spec = replace(spec, runs=runs) if runs is not None else spec
    directory = Path(out) / "figT1" / backend
    todo = list(grid_cells(spec, backend, seed=seed))
    bar = progress_bar(len(todo), f"fig T1 ({backend})", progress)
    rows, computed, reused = run_or_reuse(CellStore(directory, COLUMNS), todo, run_cell, bar)
    stem = directory / "figT1"
    write_csv_atomic(stem.with_suffix(".csv"), rows, COLUMNS)
    summary = summarise_grid(spec, backend, rows)
    write_text_atomic(stem.with_suffix(".md"), summary)
    figures = plot_grid(spec, backend, rows, stem) if plot else ()
    return TemporalGridResult(spec, backend, rows, stem.with_suffix(".csv"), figures, stem.with_suffix(".md"),
                              summary, computed, reused)  # fmt: skip
