"""Accuracy against epoch in the paper's layout.

One panel per (architecture, dataset) for Figs. 8-9, one line per method; one panel per varied
parameter for Fig. 10, the proposed method solid and Kaiming dashed.

Needs matplotlib (the ``experiments`` extra); the Agg backend is used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snninit_adapters.plotting import pyplot, save_figure
from snninit_adapters.training.grids import FIG8_PANELS, FIG10_SWEEPS, METHODS, fig10_reference, panel_of

__all__ = ["plot_training"]


def _curves(
    rows: Sequence[dict[str, Any]], metric: str
) -> tuple[list[int], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Mean and std over runs of ``metric`` per epoch (epochs where the metric is defined)."""
    per_run: dict[Any, dict[int, float]] = defaultdict(dict)
    for row in rows:
        value = float(row[metric])
        if not np.isnan(value):
            per_run[row["seed"]][int(row["epoch"])] = value
    epochs = sorted({e for run in per_run.values() for e in run})
    values = np.array([[run.get(e, np.nan) for e in epochs] for run in per_run.values()])
    if values.size == 0:
        return [], np.array([]), np.array([])
    return epochs, np.nanmean(values, axis=0), np.nanstd(values, axis=0)


def _line(
    ax: Any, rows: Sequence[dict[str, Any]], metric: str, label: str, style: str = "-", color: Any = None
) -> None:
    epochs, mean, std = _curves(rows, metric)
    if not epochs:
        return
    ax.xaxis.get_major_locator().set_params(integer=True)
    (line,) = ax.plot(
        epochs, 100 * mean, linestyle=style, label=label, color=color, marker="." if len(epochs) < 10 else None
    )
    ax.fill_between(epochs, 100 * (mean - std), 100 * (mean + std), color=line.get_color(), alpha=0.15)


def plot_training(figure: int, rows: Sequence[dict[str, Any]], stem: Path) -> tuple[Path, ...]:
    """Draw a training figure and save it as ``stem.png`` and ``stem.pdf`` (one file pair per framework).

    Args:
        figure: 8 (train accuracy), 9 (test accuracy) or 10 (robustness, train accuracy).
        rows: The tidy epoch table.
        stem: Path without suffix; with several frameworks ``-<framework>`` is appended.

    Returns:
        The paths written.
    """
    plt = pyplot()
    frameworks = sorted({str(r["framework"]) for r in rows})
    written: list[Path] = []
    metric = "test_acc" if figure == 9 else "train_acc"
    for framework in frameworks:
        subset = [r for r in rows if r["framework"] == framework]
        target = stem if len(frameworks) == 1 else stem.with_name(f"{stem.name}-{framework}")
        fig = _fig10(plt, subset) if figure == 10 else _fig8(plt, subset, metric)
        label = {8: "train accuracy", 9: "test accuracy", 10: "train accuracy, MLP on MNIST"}[figure]
        fig.suptitle(f"Fig. {figure} ({framework}): {label}", fontsize="medium")
        written += save_figure(plt, fig, target)
    return tuple(written)


def _fig8(plt: Any, rows: Sequence[dict[str, Any]], metric: str) -> Any:
    present = {(str(r["architecture"]), str(r["dataset"])) for r in rows}
    panels = [p for p in FIG8_PANELS if p in present] + sorted(present - set(FIG8_PANELS))
    columns = min(3, len(panels))
    lines = -(-len(panels) // columns)
    fig, axes = plt.subplots(lines, columns, figsize=(5 * columns, 3.8 * lines), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (architecture, dataset) in zip(axes.flat, panels, strict=False):
        chosen = [r for r in rows if (r["architecture"], r["dataset"]) == (architecture, dataset)]
        methods = sorted({str(r["method"]) for r in chosen}, key=lambda m: METHODS.index(m) if m in METHODS else 99)
        for method in methods:
            _line(ax, [r for r in chosen if r["method"] == method], metric, method)
        ax.set(title=f"{architecture.upper()} on {dataset}", xlabel="epoch", ylabel="accuracy (%)")
        ax.legend(fontsize="x-small")
    return fig


def _fig10(plt: Any, rows: Sequence[dict[str, Any]]) -> Any:
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), squeeze=False)
    reference = fig10_reference(rows)
    cmap = plt.get_cmap("viridis")
    for ax, parameter in zip(axes.flat, FIG10_SWEEPS, strict=True):
        chosen = [r for r in rows if panel_of(r, parameter, reference)]
        values = sorted({float(r[parameter]) for r in chosen})
        for index, value in enumerate(values):
            color = cmap(index / max(len(values) - 1, 1))
            for method, style in (("micheli2024", "-"), ("kaiming", "--")):
                run = [r for r in chosen if float(r[parameter]) == value and r["method"] == method]
                _line(ax, run, "train_acc", f"{method} {parameter}={value:g}", style, color)
        ax.set(title=f"varying {parameter}", xlabel="epoch", ylabel="train accuracy (%)")
        ax.legend(fontsize="xx-small", ncol=2)
    return fig
