"""The paper's training grids: Figs. 8-9 (8 methods x datasets x architectures) and Fig. 10 (robustness).

A grid is a list of :class:`~snninit_adapters.training.train.TrainConfig` cells. Fig. 9 is the test
accuracy of Fig. 8's runs, so both figures share one grid. Fig. 10's values are not given in the
paper; the ones below span the paper's defaults (10 layers of 600, beta = 0.5, theta = 1), one
parameter varied at a time.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from snninit_adapters.training.train import TrainConfig

__all__ = ["FIG10_SWEEPS", "FIG8_PANELS", "METHODS", "QUICK", "fig10_reference", "figure_grid", "panel_of"]

METHODS = (
    "micheli2024", "kaiming", "glorot", "lee2016", "bellec2018", "zenke2021", "ding2022", "rossbroich2022",
)  # fmt: skip
"""The paper's method and its seven baselines, in the paper's order of discussion."""

FIG8_PANELS = (
    ("mlp", "mnist"),
    ("mlp", "fashion-mnist"),
    ("mlp", "nmnist"),
    ("cnn", "fashion-mnist"),
    ("cnn", "cifar10"),
)
"""(architecture, dataset) of each panel of Figs. 8 and 9."""

EPOCHS = {"cifar10": 300}
"""Epochs where the paper used more than its 150."""

FIG10_SWEEPS: dict[str, tuple[Any, ...]] = {
    "depth": (3, 6, 10, 15, 20),
    "width": (100, 300, 600, 1000),
    "beta": (0.25, 0.5, 0.75, 0.9),
    "theta": (0.25, 0.5, 1.0, 1.5),
}
"""Fig. 10: the values of each varied parameter (the others at the paper's defaults)."""


@dataclass(frozen=True)
class Quick:
    """Settings of ``--quick``: a first look on a laptop in minutes, not the paper's numbers."""

    epochs: int = 2
    train_size: int = 2000
    test_size: int = 1000
    width: int = 200


QUICK = Quick()


def _apply(cell: TrainConfig, overrides: dict[str, Any], keep: str | None = None) -> TrainConfig:
    changes = {k: v for k, v in overrides.items() if v is not None and k != keep}
    return replace(cell, **changes)


def figure_grid(
    figure: int,
    *,
    methods: Sequence[str] | None = None,
    frameworks: Sequence[str] = ("snntorch",),
    seeds: Sequence[int] = (0,),
    panels: Sequence[tuple[str, str]] | None = None,
    quick: bool = False,
    **overrides: Any,
) -> list[TrainConfig]:
    """The cells of a training figure.

    Args:
        figure: 8 or 9 (the same runs), or 10.
        methods: Initialisation methods (default: the figure's: all 8, or the proposed and Kaiming for Fig. 10).
        frameworks: Frameworks to build the networks in.
        seeds: Seeds (one run per seed).
        panels: Figs. 8-9 only: the (architecture, dataset) panels to run (default all five).
        quick: Small settings (:data:`QUICK`) unless an override says otherwise.
        **overrides: TrainConfig fields set on every cell (None leaves the default); for Fig. 10 the
            varied parameter keeps its sweep values.

    Returns:
        The cells, in a fixed order.

    Raises:
        ValueError: For another figure number.
    """
    if quick:
        defaults = {"epochs": QUICK.epochs, "train_size": QUICK.train_size, "test_size": QUICK.test_size}
        overrides = {**defaults, **{k: v for k, v in overrides.items() if v is not None}}
    if figure in (8, 9):
        return _fig8_grid(tuple(methods or METHODS), frameworks, seeds, panels or FIG8_PANELS, quick, overrides)
    if figure == 10:
        return _fig10_grid(tuple(methods or ("micheli2024", "kaiming")), frameworks, seeds, quick, overrides)
    raise ValueError(f"training figures are 8, 9 and 10, not {figure}")


def _fig8_grid(
    methods: Sequence[str],
    frameworks: Sequence[str],
    seeds: Sequence[int],
    panels: Sequence[tuple[str, str]],
    quick: bool,
    overrides: dict[str, Any],
) -> list[TrainConfig]:
    """Figs. 8-9: every panel x framework x method x seed, at the paper's epochs."""
    cells: list[TrainConfig] = []
    for architecture, dataset in panels:
        for framework, method, seed in itertools.product(frameworks, methods, seeds):
            base = TrainConfig(
                dataset=dataset, architecture=architecture, framework=framework, method=method,
                seed=seed, epochs=EPOCHS.get(dataset, 150),
            )  # fmt: skip
            if quick and architecture == "mlp" and overrides.get("width") is None:
                base = replace(base, width=QUICK.width)
            cells.append(_apply(base, overrides))
    return cells


def _fig10_grid(
    methods: Sequence[str], frameworks: Sequence[str], seeds: Sequence[int], quick: bool, overrides: dict[str, Any]
) -> list[TrainConfig]:
    """Fig. 10: one parameter varied at a time; the paper's default setting is one cell, not one per sweep."""
    cells: list[TrainConfig] = []
    seen: set[TrainConfig] = set()
    for parameter, values in FIG10_SWEEPS.items():
        for value, framework, method, seed in itertools.product(values, frameworks, methods, seeds):
            base = TrainConfig(dataset="mnist", architecture="mlp", framework=framework, method=method, seed=seed)
            if quick and overrides.get("width") is None and parameter != "width":
                base = replace(base, width=QUICK.width)
            cell = replace(_apply(base, overrides, keep=parameter), **{parameter: value})
            model = cell.model  # explicit depth and width, so the shared default is one cell
            cell = replace(cell, depth=model.resolved_depth, width=model.resolved_width)
            if cell not in seen:
                seen.add(cell)
                cells.append(cell)
    return cells


def fig10_reference(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The settings Fig. 10's panels share: each swept parameter's most common value over the rows.

    Every panel holds the other parameters at their reference value, so that value is the most common.

    Args:
        rows: Rows (or cells as dicts) of a Fig. 10 run.

    Returns:
        ``{"depth": ..., "width": ..., "beta": ..., "theta": ...}``.
    """
    reference = {}
    for name in FIG10_SWEEPS:
        counts = Counter(float(row[name]) for row in rows)
        reference[name] = counts.most_common(1)[0][0] if counts else math.nan
    return reference


def panel_of(row: dict[str, Any], parameter: str, reference: dict[str, float]) -> bool:
    """True if a Fig. 10 row belongs to ``parameter``'s panel: every other swept parameter at its reference.

    Args:
        row: A row of the tidy table.
        parameter: ``"depth"``, ``"width"``, ``"beta"`` or ``"theta"``.
        reference: From :func:`fig10_reference`.

    Returns:
        Whether the row is in that panel.
    """
    return all(float(row[name]) == reference[name] for name in FIG10_SWEEPS if name != parameter)
