"""The ``snninit`` command line: reproduce the paper's figures, inspect a model, print the theory's numbers.

Needs the ``experiments`` extra (click, matplotlib, tqdm); without it ``snninit`` says what to install.
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path
from typing import Any

__all__ = ["main"]

try:
    import click
except ImportError:  # pragma: no cover - exercised only without the extra
    click = None  # type: ignore[assignment]


def _load(target: str) -> Any:
    """Call ``module:function`` and return what it returns (a model, or a (model, example_input) pair)."""
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"expected module:function, got {target!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    finally:
        sys.path.pop(0)
    return function()


if click is not None:

    @click.group(help=__doc__)
    @click.version_option(package_name="snninit-adapters")
    def cli() -> None:
        """Entry point of the command group."""

    @cli.group()
    def experiments() -> None:
        """The paper's experiments."""

    @experiments.command()
    @click.option("--figure", "figures", type=click.IntRange(2, 7), multiple=True, required=True,
                  help="Figure to reproduce (2-7); repeat for several.")  # fmt: skip
    @click.option("--backend", type=click.Choice(["reference", "exact", "snntorch", "spikingjelly", "norse"]),
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
        figures: tuple[int, ...],
        backend: str,
        out: Path,
        quick: bool,
        runs: int | None,
        seed: int,
        device: str,
        no_plot: bool,
    ) -> None:
        """Activity propagation through deep networks (Figs. 2-7): CSV, figure and Markdown summary.

        Finished cells are stored as they complete; rerunning the same command skips them.
        """
        from snninit_adapters.experiments import run_propagation

        for number in figures:
            result = run_propagation(
                number, backend=backend, out=out, quick=quick, runs=runs, seed=seed, device=device, plot=not no_plot
            )
            click.echo(result.summary)
            click.echo(f"cells: {result.computed} computed, {result.reused} reused from an earlier run")
            click.echo(f"table: {result.csv}")
            for path in result.figures:
                click.echo(f"figure: {path}")
            click.echo(f"summary: {result.summary_path}")

    @cli.command()
    @click.option("--threshold", type=float, default=1.0, show_default=True, help="Presynaptic threshold theta.")
    @click.option("--fan-in", type=click.IntRange(1), default=600, show_default=True, help="Fan-in n (= width).")
    @click.option("--target-variance", type=float, default=1.0, show_default=True)
    @click.option("--depth", type=click.IntRange(1), default=100, show_default=True,
                  help="Layers of a fully-connected network of this width, for the survival figures.")  # fmt: skip
    @click.option("--survival", type=click.FloatRange(0, 1), default=0.99, show_default=True,
                  help="Survival probability the advice aims at.")  # fmt: skip
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
        click.echo(f"Exact finite-width law, one step, {depth} layers of {fan_in} neurons, the paper's weights:")
        click.echo(f"P(activity survives to layer {depth}) = {survival_probability(fan_in, depth, threshold):.4g}")
        try:
            width = str(recommend_width(threshold, depth, survival))
        except Exception as error:  # no width is enough at very high thresholds
            width = f"none found ({error})"
        click.echo(f"smallest width with survival >= {survival:g}: {width}")
        click.echo(f"largest threshold with survival >= {survival:g} at n = {fan_in}: "
                   f"{max_threshold(fan_in, depth, survival):.3f}")  # fmt: skip
        slope = variance_map_slope(threshold)
        lower = lower_fixed_point(threshold)
        click.echo(f"mean field: slope of the variance map at V = 1: {slope:.4f} "
                   f"({'stable' if slope < 1 else 'repelling'}); collapse below V = "
                   f"{'-' if lower is None else f'{lower:.4f}'}")  # fmt: skip
        if plot is not None:
            from snninit_adapters.experiments.plots import plot_variance_map

            for path in plot_variance_map(plot.with_suffix(""), sorted({0.5, 0.85, 1.0, 1.25, threshold})):
                click.echo(f"figure: {path}")

    @cli.command()
    @click.argument("target")
    @click.option("--method", default="micheli2024", show_default=True, help="Initialisation method to plan.")
    @click.option("--steps", type=click.IntRange(1), default=None,
                  help="Call the model this many times (single-step models with the time loop outside).")  # fmt: skip
    def inspect(target: str, method: str, steps: int | None) -> None:
        """Plan apply_snn_init on a model and measure its activity, changing nothing.

        TARGET is module:function; the function returns a model and an example input, as a pair.
        """
        from snninit_adapters import apply_snn_init

        loaded = _load(target)
        if not (isinstance(loaded, tuple) and len(loaded) == 2):
            raise click.UsageError(f"{target} must return (model, example_input), got {type(loaded).__name__}")
        model, example_input = loaded
        click.echo(apply_snn_init(model, example_input, method=method, dry_run=True))
        try:
            from snninit_adapters import measure_activity
        except ImportError:
            return
        click.echo()
        click.echo(measure_activity(model, example_input, steps=steps))

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
