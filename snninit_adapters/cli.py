"""The ``snninit`` command line: reproduce the paper's figures, inspect a model, print the theory's numbers.

Needs the ``experiments`` extra (click, matplotlib, tqdm); without it ``snninit`` says what to install.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["main"]

from snninit_adapters.backends import FRAMEWORKS

try:
    import click
except ImportError:  # pragma: no cover - exercised only without the extra
    click = None  # type: ignore[assignment]


def _load(target: str) -> Any:
    """Call ``module:function`` and return what it returns (a model, or a (model, example_input) pair).

    Raises:
        click.BadParameter: For a target that is not ``module:function``, a module that cannot be imported
            from the current folder, or a module without that function.
    """
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise click.BadParameter(
            f"expected module:function (e.g. my_models:build), got {target!r}", param_hint="TARGET"
        )
    sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name.split(".")[0] and error.name != module_name:
            raise  # the module was found; something it imports is missing: its own traceback says what
        raise click.BadParameter(
            f"no module named {module_name!r} in {Path.cwd()} or on the Python path", param_hint="TARGET"
        ) from error
    finally:
        sys.path.pop(0)
    function = getattr(module, function_name, None)
    if not callable(function):
        found = sorted(name for name, value in vars(module).items() if callable(value) and not name.startswith("_"))
        raise click.BadParameter(
            f"module {module_name!r} has no function {function_name!r} (it has: {', '.join(found) or 'none'})",
            param_hint="TARGET",
        )
    return function()


if click is not None:

    @click.group(help="Reproduce the paper's figures, inspect a model, print the theory's numbers.")
    @click.version_option(package_name="snninit-adapters")
    def cli() -> None:
        """Entry point of the command group."""

    @cli.group()
    def experiments() -> None:
        """The paper's experiments."""

    @experiments.command(name="inspect", hidden=True, context_settings={"ignore_unknown_options": True})
    @click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
    def experiments_inspect(arguments: tuple[str, ...]) -> None:
        """Inspecting a model is a top-level command: snninit inspect."""
        raise click.UsageError(f"inspect is a top-level command: snninit inspect {' '.join(arguments) or 'TARGET'}")

    @experiments.command(short_help="Activity propagation through deep networks: Figs. 2-7 and T1.")
    @click.option("--figure", "figures", type=click.Choice(["2", "3", "4", "5", "6", "7", "T1"]), multiple=True,
                  required=True, help="Figure to reproduce (2-7, or T1: the temporal grid beyond the paper); "
                                      "repeat for several.")  # fmt: skip
    @click.option("--backend", type=click.Choice(["reference", "exact", *FRAMEWORKS]),
                  default="reference", show_default=True,
                  help="reference: plain PyTorch; exact: the finite-width law (Figs. 2-4); "
                       "otherwise the framework's own layers and neurons.")  # fmt: skip
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
                  show_default=True, help="Output folder.")  # fmt: skip
    @click.option("--quick", is_flag=True, help="Small settings: 20 layers, narrower layers, 3 runs, <= 5 steps.")
    @click.option("--runs", type=click.IntRange(1), default=None, help="Runs per setting (default: the paper's).")
    @click.option("--seed", type=int, default=0, show_default=True, help="Base seed.")
    @click.option("--device", default="cpu", show_default=True, help="Torch device for the reference backend.")
    @click.option("--no-plot", is_flag=True, help="Skip the PNG/PDF figure.")
    def propagation(
        figures: tuple[str, ...],
        backend: str,
        out: Path,
        quick: bool,
        runs: int | None,
        seed: int,
        device: str,
        no_plot: bool,
    ) -> None:
        """Activity propagation through deep networks (Figs. 2-7, and T1 over time): CSV, figure, Markdown summary.

        Finished cells are stored as they complete; rerunning the same command skips them.
        """
        from snninit_adapters.experiments import run_propagation
        from snninit_adapters.experiments.temporal import run_temporal_grid

        for figure in figures:
            if figure == "T1":
                if backend == "exact":
                    raise click.UsageError("figure T1 runs on the reference or a framework backend, not 'exact'")
                result: Any = run_temporal_grid(backend=backend, out=out, quick=quick, runs=runs, seed=seed,
                                                plot=not no_plot)  # fmt: skip
            else:
                result = run_propagation(int(figure), backend=backend, out=out, quick=quick, runs=runs, seed=seed,
                                         device=device, plot=not no_plot)  # fmt: skip
            click.echo(result.summary)
            click.echo(f"cells: {result.computed} computed, {result.reused} reused from an earlier run")
            click.echo(f"table: {result.csv}")
            for path in result.figures:
                click.echo(f"figure: {path}")
            click.echo(f"summary: {result.summary_path}")

    @experiments.command(short_help="Training on real data: Figs. 8-10.")
    @click.option("--figure", type=click.IntRange(8, 10), required=True,
                  help="8 (train accuracy) or 9 (test accuracy) of the same runs, or 10 (robustness).")  # fmt: skip
    @click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Data folder [default: $SNNINIT_DATA_DIR or ./data]; Debian's Fashion-MNIST is found too.",
                  )  # fmt: skip
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
                  show_default=True, help="Output folder.")  # fmt: skip
    @click.option("--backend", type=click.Choice(["local", "serial", "ray"]), default="local", show_default=True,
                  help="local: a process pool; serial: this process; ray: a Ray cluster (--address).")  # fmt: skip
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
    @click.option("--list-cells", is_flag=True,
                  help="Print the grid's cells with their indices and states, and run nothing.")  # fmt: skip
    @click.option("--cell", type=click.IntRange(0), default=None,
                  help="Run only the cell with this index (one job of an array, e.g. sbatch --array).")  # fmt: skip
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
        list_cells: bool,
        cell: int | None,
        **overrides: Any,
    ) -> None:
        """Training on real data (Figs. 8-10): tidy CSVs, figures and Markdown summaries.

        Every finished cell is stored as it completes; rerunning the same command skips it, and a cell
        that fails is recorded with its error without stopping the others. With --cell, any scheduler
        runs the grid one cell per job, all writing to the same --out; the same command without --cell
        then writes the tables and figures, rerunning no finished cell.
        """
        from snninit_adapters.training import run_training
        from snninit_adapters.training.train import data_dir_default

        panels = _training_panels(figure, datasets, architectures, overrides)
        if list_cells or cell is not None:
            grid_options = {"quick": quick, "methods": methods or None, "frameworks": frameworks,
                            "seeds": tuple(range(seeds)), "panels": panels, **overrides}  # fmt: skip
            data = data_dir if data_dir is not None else data_dir_default()
            _one_cell(figure, data, out, device, cell, grid_options)
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

    def _one_cell(figure: int, data_dir: Path, out: Path, device: str, index: int | None, options: Any) -> None:
        """--list-cells (``index`` None): the grid with indices and states; --cell: run that one cell here."""
        from snninit_adapters.training import run_sweep, training_grid
        from snninit_adapters.training.status import format_grid
        from snninit_adapters.training.sweep import TrainingStore

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
                            whole_grid=grid.cells)  # fmt: skip
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

    @experiments.command(short_help="The state of every training cell under a results folder.")
    @click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
    def status(results: Path) -> None:
        """Each training sweep under RESULTS: which cells are done, failed, running, stopped or not started."""
        from snninit_adapters.training.status import format_status

        try:
            click.echo(format_status(results))
        except FileNotFoundError as error:
            raise click.ClickException(str(error)) from error

    @experiments.command(short_help="The datasets the data folder holds, and those it lacks.")
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

    def _bounded(compute: Callable[[], str], failed: str = "not computed") -> str:
        """The theory's answer, or why it has none (no width suffices, or the exact law's work limit)."""
        from snninit_adapters.errors import SNNInitError

        try:
            return compute()
        except SNNInitError as error:
            return f"{failed if 'no width' in str(error) else 'not computed'} ({error})"

    @cli.command(short_help="One threshold's numbers: P(u > theta), stds, survival.")
    @click.option("--threshold", type=float, default=1.0, show_default=True, help="Presynaptic threshold theta.")
    @click.option("--fan-in", type=click.IntRange(1), default=600, show_default=True, help="Fan-in n (= width).")
    @click.option("--target-variance", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
                  help="Membrane variance Var[u] the weights aim at (> 0).")  # fmt: skip
    @click.option("--depth", type=click.IntRange(1), default=100, show_default=True,
                  help="Layers of a fully-connected network of this width, for the survival figures.")  # fmt: skip
    @click.option("--survival", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.99,
                  show_default=True, help="Survival probability the advice aims at (0 < survival < 1).")  # fmt: skip
    @click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Also draw the mean-field variance map to this path (.png and .pdf).")  # fmt: skip
    def theory(
        threshold: float, fan_in: int, target_variance: float, depth: int, survival: float, plot: Path | None
    ) -> None:
        """P(u > theta), the paper's weight std and Kaiming's, and the exact finite-width survival and advice."""
        from snninit_adapters.theory import (
            firing_probability,
            lower_fixed_point,
            max_threshold,
            recommend_width,
            snn_weight_variance,
            survival_probability,
            variance_map_slope,
        )

        p = firing_probability(threshold)
        std = math.sqrt(snn_weight_variance(fan_in, threshold, target_variance=target_variance))
        kaiming = math.sqrt(2.0 / fan_in)
        click.echo(f"theta = {threshold:g}, fan-in n = {fan_in}, target Var[u] = {target_variance:g}")
        click.echo(f"P(u > theta)                 = {p:.6g}")
        click.echo(f"Micheli et al. 2024: std     = {std:.6g}  (std * sqrt(n) = {std * math.sqrt(fan_in):.4f})")
        click.echo(f"Kaiming:             std     = {kaiming:.6g}  (std * sqrt(n) = {math.sqrt(2):.4f})")
        click.echo(f"ratio of variances           = {std**2 / kaiming**2:.4g}")
        click.echo()
        layers, neurons = f"{depth} layer{'s' * (depth != 1)}", f"{fan_in} neuron{'s' * (fan_in != 1)}"
        click.echo(f"Exact finite-width law, one step, {layers} of {neurons}, the paper's weights:")
        click.echo(f"P(activity survives to layer {depth}) = "
                   f"{_bounded(lambda: f'{survival_probability(fan_in, depth, threshold):.4g}')}")  # fmt: skip
        click.echo(f"smallest width with survival >= {survival:g}: "
                   f"{_bounded(lambda: str(recommend_width(threshold, depth, survival)), 'none found')}")  # fmt: skip
        click.echo(f"largest threshold with survival >= {survival:g} at n = {fan_in}: "
                   f"{_bounded(lambda: f'{max_threshold(fan_in, depth, survival):.3f}')}")  # fmt: skip
        slope = variance_map_slope(threshold)
        lower = lower_fixed_point(threshold)
        if lower is not None:
            collapse = f"collapse below V = {lower:.4f}"
        elif slope >= 1:
            collapse = "any V below 1 collapses"
        else:
            collapse = "no collapse point (the map is constant for V > 0)"
        click.echo(f"mean field: slope of the variance map at V = 1: {slope:.4f} "
                   f"({'stable' if slope < 1 else 'repelling'}); {collapse}")  # fmt: skip
        if plot is not None:
            from snninit_adapters.experiments.plots import plot_variance_map

            for path in plot_variance_map(plot.with_suffix(""), sorted({0.5, 0.85, 1.0, 1.25, threshold})):
                click.echo(f"figure: {path}")

    @cli.command(short_help="Plan the initialisation of a model and measure it (no change).")
    @click.argument("target")
    @click.option("--method", default="micheli2024", show_default=True, help="Initialisation method to plan.")
    @click.option("--steps", type=click.IntRange(1), default=None,
                  help="Call the model this many times (single-step models with the time loop outside).")  # fmt: skip
    @click.option("--calibrate", is_flag=True,
                  help="Calibrate the plan on the example input too (on a copy; nothing changes).")  # fmt: skip
    @click.option("--target", "calibration_target", type=click.Choice(["variance", "rate"]), default="variance",
                  show_default=True, help="Calibration aims at first-step Var[u] or the mean rate.")  # fmt: skip
    @click.option("--compare", is_flag=True,
                  help="Also measure the activity under the planned initialisation (a copy), side by side.",
                  )  # fmt: skip
    def inspect(
        target: str, method: str, steps: int | None, calibrate: bool, calibration_target: str, compare: bool
    ) -> None:
        """Plan apply_snn_init on a model and measure its activity, changing nothing.

        TARGET is module:function; the function returns a model and an example input, as a pair. The plan
        is a dry run; the activity is measured under the model's current weights and, with --compare, also
        under the planned initialisation (written into a copy), side by side.
        """
        from snninit_adapters import Calibration, SNNInitError, apply_snn_init

        loaded = _load(target)
        if not (isinstance(loaded, tuple) and len(loaded) == 2):
            raise click.UsageError(f"{target} must return (model, example_input), got {type(loaded).__name__}")
        model, example_input = loaded
        settings = Calibration(target=calibration_target, steps=steps) if calibrate else False
        try:
            click.echo("The planned initialisation (a dry run: the model is not changed):")
            click.echo(apply_snn_init(model, example_input, method=method, dry_run=True, calibrate=settings))
            from snninit_adapters import measure_activity

            current = measure_activity(model, example_input, steps=steps)
            click.echo()
            if not compare:
                click.echo("Activity under the model's current weights (--compare adds the planned initialisation):")
                click.echo(current)
                return
            from snninit_adapters.model import copy_model

            planned = copy_model(model)  # the library's copy (the deprecated weight_norm's hook included)
            apply_snn_init(planned, example_input, method=method, calibrate=settings)
            click.echo("Activity under the model's current weights and under the planned initialisation (a copy):")
            click.echo(_side_by_side(current, measure_activity(planned, example_input, steps=steps)))
        except SNNInitError as error:
            raise click.ClickException(str(error)) from error

    def _side_by_side(current: Any, planned: Any) -> str:
        """Per neuron layer: its first-step rate and Var[u], and its mean rate over the steps, now and planned."""
        rows = [f"{'layer':<24} {'rate@0 now':>10} {'planned':>8} {'Var[u]@0 now':>12} {'planned':>8}"
                f" {'mean rate now':>13} {'planned':>8}"]  # fmt: skip
        for name in dict.fromkeys(row.layer for row in current.rows):
            now = [row for row in current.rows if row.layer == name]
            new = [row for row in planned.rows if row.layer == name] or now

            def var(row: Any) -> str:
                return "-" if row.u_var is None else f"{row.u_var:.3g}"

            mean_now = sum(row.rate for row in now) / len(now)
            mean_new = sum(row.rate for row in new) / len(new)
            rows.append(f"{name:<24} {now[0].rate:10.3f} {new[0].rate:8.3f} {var(now[0]):>12} {var(new[0]):>8}"
                        f" {mean_now:13.3f} {mean_new:8.3f}")  # fmt: skip
        return "\n".join(rows)

    def main() -> None:
        """Run the ``snninit`` command line."""
        cli()

else:  # pragma: no cover

    def main() -> None:
        """Say what to install for the command line."""
        print("the snninit command line needs its extra: pip install 'snninit-adapters[experiments]'", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
