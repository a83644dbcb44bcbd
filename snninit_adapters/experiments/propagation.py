"""Run an activity-propagation figure: cells, resumable storage, tidy CSV, plots and summary.

A *cell* is one unit of work: one threshold, one width, one run, and the methods one simulation
covers (all of the figure's methods on the reference backend, which draws them from shared noise;
one method on a framework backend). Finished cells are stored atomically and skipped on a rerun.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from snninit_adapters.backends import FRAMEWORKS
from snninit_adapters.experiments.figures import FigureSpec, figure_spec
from snninit_adapters.experiments.laws import method_laws
from snninit_adapters.experiments.plots import plot_figure
from snninit_adapters.experiments.seeds import cell_seed
from snninit_adapters.experiments.simulate import LayerStats, simulate_networks
from snninit_adapters.experiments.store import CellStore, run_or_reuse, write_csv_atomic, write_text_atomic
from snninit_adapters.experiments.summary import summarise
from snninit_adapters.theory import Dynamics

__all__ = ["BACKENDS", "PropagationResult", "cells", "progress_bar", "run_cell", "run_propagation"]

Simulator = Callable[[Mapping[str, Any], FigureSpec], dict[str, LayerStats]]


def _reference(cell: Mapping[str, Any], spec: FigureSpec) -> dict[str, LayerStats]:
    theta, width = float(cell["threshold"]), int(cell["width"])
    dynamics = Dynamics(beta=spec.beta, theta=theta, steps=spec.steps) if theta > 0 else None  # Eq. 13
    laws = method_laws(cell["methods"].split("+"), width, theta, dynamics)
    generator = torch.Generator(device=cell.get("device", "cpu")).manual_seed(cell_seed(cell))
    return simulate_networks(
        laws, depth=spec.depth, width=width, steps=spec.steps, beta=spec.beta, theta=theta, generator=generator
    )


def _exact(cell: Mapping[str, Any], spec: FigureSpec) -> dict[str, Any]:
    from snninit_adapters.experiments.exact import simulate_exact

    return dict(simulate_exact(cell, spec))


def _framework(name: str) -> Simulator:
    def simulate(cell: Mapping[str, Any], spec: FigureSpec) -> dict[str, LayerStats]:
        from snninit_adapters.experiments import frameworks

        result: dict[str, LayerStats] = frameworks.simulate(name, cell, spec)
        return result

    return simulate


BACKENDS: dict[str, tuple[Simulator, bool]] = {
    "reference": (_reference, False),
    "exact": (_exact, False),
    **{name: (_framework(name), True) for name in FRAMEWORKS},
}
"""Backend name -> (simulator, whether it runs one method per cell)."""


def cells(spec: FigureSpec, backend: str, *, seed: int = 0, device: str = "cpu") -> Iterator[dict[str, Any]]:
    """The cells of a figure on a backend, in a fixed order."""
    _, per_method = BACKENDS[backend]
    methods = spec.methods
    if backend == "exact":  # one exact computation per setting replaces the runs
        from snninit_adapters.experiments.exact import exact_methods

        methods, spec = exact_methods(spec), replace(spec, runs=1)
    groups = [(m,) for m in methods] if per_method else [methods]
    for methods in groups:
        for theta in spec.thresholds:
            for width in spec.widths:
                for run in range(spec.runs):
                    yield {
                        "figure": spec.number, "backend": backend, "methods": "+".join(methods),
                        "threshold": theta, "width": width, "run": run, "depth": spec.depth,
                        "steps": spec.steps, "beta": spec.beta, "seed": seed, "device": device,
                    }  # fmt: skip


def run_cell(cell: Mapping[str, Any], spec: FigureSpec) -> list[dict[str, Any]]:
    """Simulate one cell and turn its statistics into tidy rows (one per method, layer and step)."""
    simulate, _ = BACKENDS[cell["backend"]]
    rows = []
    for method, stats in simulate(cell, spec).items():
        layers, steps = stats.var_u.shape
        for layer in range(layers):
            for step in range(steps):
                rows.append(
                    {
                        "figure": cell["figure"],
                        "backend": cell["backend"],
                        "method": method,
                        "threshold": cell["threshold"],
                        "width": cell["width"],
                        "beta": cell["beta"],
                        "run": cell["run"],
                        "layer": layer,
                        "step": step,
                        "var_u": float(stats.var_u[layer, step]),
                        "mean_u": float(stats.mean_u[layer, step]),
                        "skew_u": float(stats.skew_u[layer, step]),
                        "kurt_u": float(stats.kurt_u[layer, step]),
                        "spikes": float(stats.spikes[layer, step]),
                    }
                )
                for extra in ("var_u_std", "spikes_std", "survival"):
                    if hasattr(stats, extra):
                        rows[-1][extra] = float(getattr(stats, extra)[layer, step])
    return rows


@dataclass(frozen=True)
class PropagationResult:
    """What a figure's run produced.

    Attributes:
        spec: The figure's settings.
        backend: The backend it ran on.
        rows: The tidy table (one row per method, threshold, width, run, layer, step).
        csv: Path of the tidy CSV.
        figures: Paths of the PNG and PDF figure.
        summary_path: Path of the Markdown summary.
        summary: The Markdown summary.
        computed: Cells simulated by this run.
        reused: Cells found finished from an earlier run.
    """

    spec: FigureSpec
    backend: str
    rows: list[dict[str, Any]]
    csv: Path
    figures: tuple[Path, ...]
    summary_path: Path
    summary: str
    computed: int
    reused: int


def progress_bar(total: int, description: str, enabled: bool) -> Any:
    """A tqdm bar over ``total`` cells (hidden unless ``enabled``), or None where tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:  # progress bars are an extra
        return None
    return tqdm(total=total, desc=description, unit="cell", disable=not enabled, leave=False)


def run_propagation(
    figure: int,
    *,
    backend: str = "reference",
    out: Path | str = "results",
    quick: bool = False,
    runs: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    plot: bool = True,
) -> PropagationResult:
    """Reproduce one of the paper's propagation figures (2 to 7) and write its CSV, figure and summary.

    Args:
        figure: Figure number, 2 to 7.
        backend: ``"reference"`` (plain PyTorch, no framework), ``"exact"`` (the finite-width law, for the
            single-step figures 2-4, with the reference simulation overlaid), ``"snntorch"``,
            ``"spikingjelly"`` or ``"norse"``.
        out: Output folder; the figure's files go to ``out/fig<N>/<backend>/``.
        quick: Small settings (20 layers, narrower layers, 3 runs, at most 5 steps).
        runs: Number of runs instead of the figure's default.
        seed: Base seed; each cell's seed is derived from it and the cell's parameters.
        device: Torch device for the reference backend.
        progress: Show a progress bar (needs tqdm).
        plot: Draw the PNG and PDF figure (needs matplotlib).

    Returns:
        The rows and the paths written.

    Raises:
        ValueError: For an unknown figure or backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    spec = figure_spec(figure, quick=quick)
    if runs is not None:
        spec = replace(spec, runs=runs)
    overlay: list[dict[str, Any]] = []
    if backend == "exact":  # the exact law replaces the runs; the reference simulation is drawn over it
        if spec.steps != 1:
            raise ValueError(f"the exact backend covers the single-step figures 2, 3 and 4, not figure {figure}")
        reference = run_propagation(figure, out=out, quick=quick, runs=runs, seed=seed, device=device,
                                    progress=progress, plot=False)  # fmt: skip
        overlay, spec = reference.rows, replace(spec, runs=1)
    directory = Path(out) / f"fig{figure}" / backend
    todo = list(cells(spec, backend, seed=seed, device=device))
    bar = progress_bar(len(todo), f"fig {figure} ({backend})", progress)
    rows, computed, reused = run_or_reuse(CellStore(directory), todo, lambda cell: run_cell(cell, spec), bar)
    stem = directory / f"fig{figure}"
    write_text_atomic(
        stem.with_suffix(".json"), json.dumps({"backend": backend, "quick": quick, **asdict(spec)}) + "\n"
    )
    return _write_outputs(spec, backend, rows, stem, (computed, reused), plot, overlay)


def _write_outputs(
    spec: FigureSpec,
    backend: str,
    rows: list[dict[str, Any]],
    stem: Path,
    counts: tuple[int, int],
    plot: bool,
    overlay: list[dict[str, Any]],
) -> PropagationResult:
    """Write the tidy CSV, the Markdown summary and (with ``plot``) the figure; the run's result."""
    csv_path = stem.with_suffix(".csv")
    write_csv_atomic(csv_path, rows)
    summary = summarise(spec, backend, rows)
    write_text_atomic(stem.with_suffix(".md"), summary)
    figures: tuple[Path, ...] = ()
    if plot:
        figures = plot_figure(spec, backend, rows, stem, overlay=overlay)
    return PropagationResult(spec, backend, rows, csv_path, figures, stem.with_suffix(".md"), summary, *counts)
