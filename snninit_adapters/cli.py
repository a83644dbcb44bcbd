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
else:
    from snninit_adapters.cli_training import TRAINING_COMMANDS


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
    @click.option("--figure", "figures", type=click.Choice(["2", "3", "4", "5", "6", "7", "T1", "all"]),
                  multiple=True, required=True,
                  help="Figure to reproduce (2-7, or T1: the temporal grid beyond the paper; all: every figure "
                       "the backend runs); repeat for several.")  # fmt: skip
    @click.option("--backend", type=click.Choice(["reference", "exact", *FRAMEWORKS]),
                  default="reference", show_default=True,
                  help="reference: plain PyTorch; exact: the finite-width law (Figs. 2-4); "
                       "otherwise the framework's own layers and neurons.")  # fmt: skip
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
                  show_default=True, help="Output folder.")  # fmt: skip
    @click.option("--quick/--full", default=False,
                  help="--quick: small settings (20 layers, 3 runs, <= 5 steps); --full (default): the paper's. "
                       "The last one given wins.")  # fmt: skip
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

        if "all" in figures:
            figures = ("2", "3", "4") if backend == "exact" else ("2", "3", "4", "5", "6", "7", "T1")
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

    @experiments.command(short_help="The paper's claims on every backend: one table from a results folder.")
    @click.argument("results", type=click.Path(file_okay=False, path_type=Path), default=Path("results"))
    @click.option("--expect", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                  envvar="SNNINIT_CLAIMS_EXPECT",
                  help="An earlier claims.csv: exit with status 1, listing them, if a verdict changed on a "
                       "backend with results here [default: $SNNINIT_CLAIMS_EXPECT].")  # fmt: skip
    def claims(results: Path, expect: Path | None) -> None:
        """Check every claim of the paper (Figs. 2-10) on each backend's results in RESULTS.

        Reads what the propagation and training commands wrote there and writes RESULTS/claims.md (the
        verdicts with the measured numbers and tolerances) and RESULTS/claims.csv (one row per claim and
        backend).
        """
        from snninit_adapters.experiments.claims_table import claims_table, compare, write_claims_table
        from snninit_adapters.experiments.store import read_csv

        if not results.is_dir():
            raise click.UsageError(f"{results} is not a folder: pass the --out folder of the experiments")
        table = claims_table(results)
        markdown, csv_path = write_claims_table(table, results)
        click.echo(table.console())
        click.echo(f"table: {markdown}\ntable: {csv_path}")
        if expect is not None:
            ran = table.ran()
            changes = compare(table, read_csv(expect), ran)
            for line in changes:
                click.echo(f"changed: {line}", err=True)
            if changes:
                raise SystemExit(1)
            click.echo(f"every verdict on {', '.join(ran) or 'no backend'} as in {expect}")

    for command in TRAINING_COMMANDS:
        experiments.add_command(command)

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
            from snninit_adapters.replica import copy_model

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
