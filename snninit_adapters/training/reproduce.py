"""Run a training figure end to end: its grid, the sweep, the tidy CSVs, the plots and the summary."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snninit_adapters.experiments.store import write_csv_atomic, write_text_atomic
from snninit_adapters.training.claims import summarise_training
from snninit_adapters.training.curves import plot_training
from snninit_adapters.training.data import DatasetNotFoundError, available, describe
from snninit_adapters.training.grids import figure_grid
from snninit_adapters.training.slurm import SlurmResources
from snninit_adapters.training.sweep import SweepOutcome, run_sweep
from snninit_adapters.training.train import ACTIVITY_COLUMNS, EPOCH_COLUMNS, TrainConfig

__all__ = ["TrainingGrid", "TrainingResult", "run_training", "training_grid"]


@dataclass(frozen=True)
class TrainingResult:
    """What a training figure's run produced.

    Attributes:
        figure: 8, 9 or 10.
        outcome: The sweep's rows, errors and counts.
        directory: The figure's folder.
        csv: The tidy epoch table (one row per cell and epoch).
        activity_csv: The tidy activity table (one row per cell, neuron layer and step, at the start of training).
        figures: The PNG and PDF figures written.
        summaries: The Markdown summaries written (Figs. 8 and 9 share one sweep and get both).
        summary: The requested figure's summary.
        skipped_datasets: Datasets of the grid whose files were not found; their cells were not run.
    """

    figure: int
    outcome: SweepOutcome
    directory: Path
    csv: Path
    activity_csv: Path
    figures: tuple[Path, ...]
    summaries: tuple[Path, ...]
    summary: str
    skipped_datasets: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainingGrid:
    """The cells of a training figure whose data is on disk, and where they are stored.

    Attributes:
        cells: The cells to run, in a fixed order (a cell's index is its place here).
        directory: The figure's folder (``cells/`` holds one file set per cell).
        skipped_datasets: Datasets of the grid whose files were not found; their cells are left out.
    """

    cells: list[TrainConfig]
    directory: Path
    skipped_datasets: tuple[str, ...] = ()


def training_grid(
    figure: int,
    *,
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] = "results",
    quick: bool = False,
    methods: Sequence[str] | None = None,
    frameworks: Sequence[str] = ("snntorch",),
    seeds: Sequence[int] = (0,),
    panels: Sequence[tuple[str, str]] | None = None,
    **overrides: Any,
) -> TrainingGrid:
    """The cells :func:`run_training` runs for these arguments (same meaning), in its order.

    A scheduler that runs one cell per job (``--cell INDEX``) indexes this list.

    Raises:
        DatasetNotFoundError: If no dataset of the grid is on disk.
    """
    cells = figure_grid(figure, methods=methods, frameworks=frameworks, seeds=seeds, panels=panels, quick=quick,
                        **overrides)  # fmt: skip
    missing = tuple(sorted({cell.dataset for cell in cells if not available(cell.dataset, data_dir)}))
    if missing and all(cell.dataset in missing for cell in cells):
        raise DatasetNotFoundError("no dataset of this grid is on disk:\n" + "\n".join(describe(missing, data_dir)))
    directory = Path(out) / "training" / ("fig10" if figure == 10 else "fig8-9")
    return TrainingGrid([cell for cell in cells if cell.dataset not in missing], directory, missing)


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # progress bars are an extra
        return None
    return tqdm(total=total, desc="training cells", unit="cell", leave=False)


def _ticker(bar: Any) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """Moves the progress bar on as each cell finishes, and prints a failed cell's error above it."""

    def tick(cell: dict[str, Any], result: dict[str, Any]) -> None:
        bar.update()
        if not result["ok"]:
            bar.write(f"cell failed: {cell['dataset']}/{cell['method']}: {result['error']}")

    return tick


def run_training(
    figure: int,
    *,
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] = "results",
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    device: str = "cpu",
    quick: bool = False,
    methods: Sequence[str] | None = None,
    frameworks: Sequence[str] = ("snntorch",),
    seeds: Sequence[int] = (0,),
    panels: Sequence[tuple[str, str]] | None = None,
    plot: bool = True,
    progress: bool = True,
    checkpoint_every: int = 1,
    slurm: SlurmResources | None = None,
    **overrides: Any,
) -> TrainingResult:
    """Reproduce a training figure (8, 9 or 10) and write its CSVs, figures and summaries.

    Args:
        figure: 8 (train accuracy) or 9 (test accuracy) of the same sweep, or 10 (robustness).
        data_dir: The data folder (see :mod:`snninit_adapters.training.data`).
        out: Output folder; the figure's files go to ``out/training/fig8-9/`` or ``out/training/fig10/``.
        backend: ``"local"`` (process pool), ``"serial"``, ``"ray"`` or ``"submitit"`` (a SLURM job array).
        workers: Cells at once (default: the cores).
        address: Ray cluster address.
        device: Torch device of the cells.
        quick: Small settings (2 epochs on 2000/1000-sample subsets, MLP width 200).
        methods: Initialisation methods (default: the figure's).
        frameworks: Frameworks to build the networks in.
        seeds: One run per seed.
        panels: Figs. 8-9: the (architecture, dataset) panels to run.
        plot: Draw the figures (needs matplotlib).
        progress: Show a progress bar (needs tqdm).
        checkpoint_every: Epochs between each cell's checkpoints, from which a rerun resumes (0: none).
        slurm: The submitit backend's resources per cell.
        **overrides: TrainConfig fields for every cell (epochs, batch_size, depth, width, beta, theta,
            steps, train_size, test_size, ...).

    Returns:
        The rows and the paths written.
    """
    grid = training_grid(figure, data_dir=data_dir, out=out, quick=quick, methods=methods, frameworks=frameworks,
                         seeds=seeds, panels=panels, **overrides)  # fmt: skip
    cells, directory, missing = grid.cells, grid.directory, grid.skipped_datasets
    bar = _progress_bar(len(cells), progress)
    outcome = run_sweep(cells, out=directory, data_dir=data_dir, backend=backend, workers=workers, address=address,
                        device=device, progress=None if bar is None else _ticker(bar),
                        checkpoint_every=checkpoint_every, slurm=slurm)  # fmt: skip
    if bar is not None:
        bar.close()
    return _write_outputs(figure, outcome, directory, plot, missing)


def _write_outputs(
    figure: int, outcome: SweepOutcome, directory: Path, plot: bool, missing: tuple[str, ...]
) -> TrainingResult:
    """Write the tidy tables, the errors, the summaries (Figs. 8 and 9 share one sweep) and the figures."""
    csv_path, activity_path = directory / "training.csv", directory / "activity.csv"
    write_csv_atomic(csv_path, outcome.epochs, EPOCH_COLUMNS)
    write_csv_atomic(activity_path, outcome.activity, ACTIVITY_COLUMNS)
    write_text_atomic(directory / "errors.json", json.dumps(outcome.errors, indent=1))
    numbers = (10,) if figure == 10 else (8, 9)
    summaries, texts = [], {}
    for number in numbers:
        texts[number] = summarise_training(number, outcome.epochs, outcome.activity, outcome.errors)
        path = directory / f"fig{number}.md"
        write_text_atomic(path, texts[number])
        summaries.append(path)
    figures: tuple[Path, ...] = ()
    if plot and outcome.epochs:
        for number in numbers:
            figures += plot_training(number, outcome.epochs, directory / f"fig{number}")
    return TrainingResult(
        figure, outcome, directory, csv_path, activity_path, figures, tuple(summaries), texts[figure], missing
    )
