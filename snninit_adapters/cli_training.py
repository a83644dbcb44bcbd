"""The ``snninit experiments`` commands of the training sweeps: ``training``, ``status`` and ``data``.

Imported by :mod:`snninit_adapters.cli` only where click is installed; each command imports what it
runs when it runs, so that ``snninit --help`` stays quick.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from snninit_adapters.backends import FRAMEWORKS

__all__ = ["TRAINING_COMMANDS"]


def _slurm_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of the submitit backend's tasks (each one cell); they reach ``training`` as ``slurm_*``."""
    options = [
        click.option("--slurm-partition", default=None, help="submitit: the SLURM partition [default: the cluster's]."),
        click.option(
            "--slurm-time",
            type=click.IntRange(1),
            default=720,
            show_default=True,
            help="submitit: minutes per task; one that runs out is requeued and resumes.",
        ),
        click.option(
            "--slurm-gpus",
            type=click.IntRange(0),
            default=None,
            help="submitit: GPUs per task [default: 1 with --device cuda, else 0].",
        ),
        click.option(
            "--slurm-cpus", type=click.IntRange(1), default=1, show_default=True, help="submitit: CPUs per task."
        ),
        click.option(
            "--slurm-mem-gb",
            type=click.FloatRange(0, min_open=True),
            default=None,
            help="submitit: memory per task in GB [default: the partition's].",
        ),
        click.option(
            "--slurm-requeues",
            type=click.IntRange(0),
            default=3,
            show_default=True,
            help="submitit: requeues of a task after a timeout or a preemption.",
        ),
        click.option(
            "--slurm-cluster",
            type=click.Choice(["slurm", "local", "debug"]),
            default=None,
            help="submitit: local runs the tasks as processes here (a rehearsal) [default: SLURM where "
            "sbatch is found].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _slurm_resources(options: dict[str, Any], device: str) -> Any:
    """Take the ``slurm_*`` options out of ``options``: the submitit backend's SlurmResources."""
    from snninit_adapters.training.slurm import SlurmResources

    gpus = options.pop("slurm_gpus")
    return SlurmResources(partition=options.pop("slurm_partition"), time_min=options.pop("slurm_time"),
                          gpus=(1 if device.startswith("cuda") else 0) if gpus is None else gpus,
                          cpus=options.pop("slurm_cpus"), mem_gb=options.pop("slurm_mem_gb"),
                          max_requeues=options.pop("slurm_requeues"), cluster=options.pop("slurm_cluster"))  # fmt: skip


@click.command(short_help="Training on real data: Figs. 8-10.")
@click.option("--figure", type=click.IntRange(8, 10), required=True,
              help="8 (train accuracy) or 9 (test accuracy) of the same runs, or 10 (robustness).")  # fmt: skip
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data folder [default: $SNNINIT_DATA_DIR or ./data]; Debian's Fashion-MNIST is found too.",
              )  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Output folder.")  # fmt: skip
@click.option("--backend", type=click.Choice(["local", "serial", "ray", "submitit"]), default="local",
              show_default=True, help="local: a process pool; serial: this process; ray: a Ray cluster "
              "(--address); submitit: a SLURM job array (see the --slurm options).")  # fmt: skip
@click.option("--address", default=None, help="Ray cluster address (default: start a local Ray).")
@click.option("--workers", type=click.IntRange(1), default=None, help="Cells at once [default: the cores].")
@click.option("--device", default="cpu", show_default=True, help="Torch device of every cell (cuda on a GPU).")
@click.option("--quick", is_flag=True, help="2 epochs on 2000/1000-sample subsets, MLP width 200.")
@click.option("--framework", "frameworks", multiple=True, default=("snntorch",), show_default=True,
              type=click.Choice(FRAMEWORKS), help="Repeat for several.")  # fmt: skip
@click.option("--method", "methods", multiple=True, help="Initialisation method; repeat [default: the figure's].")
@click.option("--dataset", "datasets", multiple=True,
              help="Figs. 8-9: only these panels' datasets; Fig. 10: the dataset instead of MNIST.")  # fmt: skip
@click.option("--architecture", "architectures", multiple=True, type=click.Choice(["mlp", "cnn"]),
              help="Figs. 8-9: only these architectures.")  # fmt: skip
@click.option("--seeds", type=click.IntRange(1), default=1, show_default=True, help="Runs per setting.")
@click.option("--epochs", type=click.IntRange(0), default=None,
              help="Epochs per cell [default: 150, 300 on CIFAR-10].")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Batch size [default: 64].")
@click.option("--depth", type=click.IntRange(1), default=None, help="Hidden layers: MLP 10 (x 600), CNN 6.")
@click.option("--width", type=click.IntRange(1), default=None, help="MLP: neurons (600); CNN: channels (64).")
@click.option("--beta", type=click.FloatRange(0, 1), default=None, help="Leak [default: 0.5].")
@click.option("--theta", type=float, default=None, help="Threshold [default: 1].")
@click.option("--steps", type=click.IntRange(1), default=None, help="Time steps T [default: 3].")
@click.option("--lr", type=float, default=None, help="Adam learning rate [default: 1e-3].")
@click.option("--weight-decay", type=float, default=None,
              help="Adam weight decay [default: 1e-4 for the CNN, 0 for the MLP].")  # fmt: skip
@click.option("--t-max", type=click.IntRange(1), default=None,
              help="Cosine period in batches [default: the whole run; the authors' code: 10].")  # fmt: skip
@click.option("--bias", type=click.Choice(["zero", "keep"]), default=None, help="Bias policy [default: zero].")
@click.option("--train-size", type=click.IntRange(1), default=None, help="Fixed random training subset.")
@click.option("--test-size", type=click.IntRange(1), default=None, help="Fixed random test subset.")
@click.option("--bin-us", type=click.IntRange(1), default=None, help="N-MNIST bin width in µs [default: 100000].")
@click.option("--no-plot", is_flag=True, help="Skip the PNG/PDF figures.")
@click.option("--checkpoint-every", type=click.IntRange(0), default=1, show_default=True,
              help="Epochs between a cell's checkpoints, from which a rerun resumes it (0: none).")  # fmt: skip
@click.option("--list-cells", is_flag=True,
              help="Print the grid's cells with their indices and states, and run nothing.")  # fmt: skip
@click.option("--cell", type=click.IntRange(0), default=None,
              help="Run only the cell with this index (one job of an array, e.g. sbatch --array).")  # fmt: skip
@_slurm_options
def training(
    figure: int,
    data_dir: Path | None,
    out: Path,
    backend: str,
    address: str | None,
    workers: int | None,
    device: str,
    quick: bool,
    frameworks: tuple[str, ...],
    methods: tuple[str, ...],
    datasets: tuple[str, ...],
    architectures: tuple[str, ...],
    seeds: int,
    no_plot: bool,
    checkpoint_every: int,
    list_cells: bool,
    cell: int | None,
    **overrides: Any,
) -> None:
    """Training on real data (Figs. 8-10): tidy CSVs, figures and Markdown summaries.

    Every finished cell is stored as it completes; rerunning the same command skips it, and a cell
    that fails is recorded with its error without stopping the others. With --cell, any scheduler
    runs the grid one cell per job, all writing to the same --out; the same command without --cell
    then writes the tables and figures, rerunning no finished cell. Each cell saves its full state
    every --checkpoint-every epochs; a cell killed part way resumes from its last checkpoint when the
    command is run again, losing at most that many epochs.
    """
    from snninit_adapters.training import run_training
    from snninit_adapters.training.train import data_dir_default

    slurm = _slurm_resources(overrides, device)
    panels = _training_panels(figure, datasets, architectures, overrides)
    if list_cells or cell is not None:
        grid_options = {"quick": quick, "methods": methods or None, "frameworks": frameworks,
                        "seeds": tuple(range(seeds)), "panels": panels, **overrides}  # fmt: skip
        data = data_dir if data_dir is not None else data_dir_default()
        _one_cell(figure, data, out, cell, grid_options, device=device, checkpoint_every=checkpoint_every)
        return
    result = run_training(
        figure,
        data_dir=data_dir if data_dir is not None else data_dir_default(),
        out=out,
        backend=backend,
        workers=workers,
        address=address,
        device=device,
        quick=quick,
        methods=methods or None,
        frameworks=frameworks,
        seeds=tuple(range(seeds)),
        panels=panels,
        plot=not no_plot,
        checkpoint_every=checkpoint_every,
        slurm=slurm,
        **overrides,
    )
    _echo_training(result)


def _training_panels(
    figure: int, datasets: tuple[str, ...], architectures: tuple[str, ...], overrides: dict[str, Any]
) -> list[tuple[str, str]] | None:
    """Figs. 8-9: the panels the --dataset/--architecture options pick; Fig. 10: its one dataset."""
    from snninit_adapters.training.grids import FIG8_PANELS

    if figure == 10:
        if len(datasets) > 1:
            raise click.UsageError("Fig. 10 runs on one dataset")
        overrides["dataset"] = datasets[0] if datasets else None
        return None
    if not (datasets or architectures):
        return None
    panels = [p for p in FIG8_PANELS if (not architectures or p[0] in architectures)
              and (not datasets or p[1] in datasets)]  # fmt: skip
    if not panels:
        raise click.UsageError(f"no panel of Figs. 8-9 matches; panels: {FIG8_PANELS}")
    return panels


def _one_cell(
    figure: int, data_dir: Path, out: Path, index: int | None, options: Any, *, device: str, checkpoint_every: int
) -> None:
    """--list-cells (``index`` None): the grid with indices and states; --cell: run that one cell here."""
    from snninit_adapters.training import run_sweep, training_grid
    from snninit_adapters.training.status import format_grid
    from snninit_adapters.training.store import TrainingStore

    grid = training_grid(figure, data_dir=data_dir, out=out, **options)
    if index is None:
        click.echo(format_grid(grid.cells, grid.directory))
        return
    store = TrainingStore(grid.directory)
    if index >= len(grid.cells):
        raise click.BadParameter(f"this grid has {len(grid.cells)} cells: 0 to {len(grid.cells) - 1} "
                                 "(see --list-cells)", param_hint="'--cell'")  # fmt: skip
    config = grid.cells[index]
    outcome = run_sweep([config], out=grid.directory, data_dir=data_dir, backend="serial", device=device,
                        whole_grid=grid.cells, checkpoint_every=checkpoint_every)  # fmt: skip
    cell, state = config.to_cell(), store.state(config.to_cell())
    if state != "done":  # a nonzero exit, so that the scheduler sees the job fail
        raise click.ClickException(f"cell {index} {state} (traceback: {store.error_path(cell)})")
    click.echo(f"cell {index}: done{'' if outcome.computed else ' (by an earlier run)'}: {store.path(cell)}")


def _echo_training(result: Any) -> None:
    """Print a training run's summary, its cell counts and the paths it wrote."""
    click.echo(result.summary)
    outcome = result.outcome
    click.echo(f"cells: {outcome.computed} run, {outcome.reused} reused from an earlier run, "
               f"{len(outcome.errors)} failed (errors: {result.directory / 'errors.json'})")  # fmt: skip
    if result.skipped_datasets:
        click.echo(f"not run, data not found: {', '.join(result.skipped_datasets)} "
                   "(see `snninit experiments data` for the files expected where)")  # fmt: skip
    click.echo(f"table: {result.csv}")
    click.echo(f"activity at the start of training: {result.activity_csv}")
    for path in (*result.figures, *result.summaries):
        click.echo(f"{'figure' if path.suffix != '.md' else 'summary'}: {path}")


@click.command(short_help="The state of every training cell under a results folder.")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
def status(results: Path) -> None:
    """Each training sweep under RESULTS: which cells are done, failed, running, stopped or not started."""
    from snninit_adapters.training.status import format_status

    try:
        click.echo(format_status(results))
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error


@click.command(short_help="The datasets the data folder holds, and those it lacks.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data folder [default: $SNNINIT_DATA_DIR or ./data].")  # fmt: skip
@click.option("--prepare-fashion-mnist", is_flag=True,
              help="Decompress Debian's Fashion-MNIST into DATA_DIR/FashionMNIST/raw (torchvision layout).",
              )  # fmt: skip
def data(data_dir: Path | None, prepare_fashion_mnist: bool) -> None:
    """Which training datasets the data folder holds, and the files expected for the others."""
    from snninit_adapters.training.data import DATASETS, describe
    from snninit_adapters.training.data import prepare_fashion_mnist as prepare
    from snninit_adapters.training.train import data_dir_default

    folder = data_dir if data_dir is not None else data_dir_default()
    if prepare_fashion_mnist:
        click.echo(f"Fashion-MNIST written to {prepare(folder)}")
    for line in describe(DATASETS, folder):
        click.echo(line)


TRAINING_COMMANDS = (training, status, data)
"""The commands :mod:`snninit_adapters.cli` adds to its ``experiments`` group."""
