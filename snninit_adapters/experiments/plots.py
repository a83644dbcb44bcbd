"""The figures in the paper's layout: means over runs with a shaded band of one std, heatmaps for Fig. 5.

Needs matplotlib (the ``experiments`` extra); the Agg backend is used, so no display is required.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from snninit_adapters.experiments.figures import FigureSpec
from snninit_adapters.experiments.summary import aggregate
from snninit_adapters.plotting import pyplot, save_figure

__all__ = ["plot_figure"]


STYLES = ("-", "--", ":", "-.")


def _band(
    ax: Any,
    values: npt.NDArray[np.float64],
    label: str,
    index: int = 0,
    std: npt.NDArray[np.float64] | None = None,
    simulated: npt.NDArray[np.float64] | None = None,
) -> None:
    """Mean over runs (axis 0) against layer, with a band of one standard deviation.

    ``std`` gives the band directly (the exact backend's spread over networks); ``simulated`` (runs x
    layers) is overlaid as markers.
    """
    with warnings.catch_warnings():  # layers where every run is silent have no skewness: NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0) if std is None else std
    layers = np.arange(len(mean))
    (line,) = ax.plot(layers, mean, label=label, linestyle=STYLES[index % len(STYLES)])
    if simulated is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ax.plot(layers, np.nanmean(simulated, axis=0), "o", markersize=2.5, color=line.get_color())
    ax.fill_between(layers, mean - std, mean + std, color=line.get_color(), alpha=0.2)


def _per_layer(arrays: dict[str, npt.NDArray[np.float64]], metric: str) -> npt.NDArray[np.float64]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(arrays[metric], axis=2))  # average over steps: (runs, layers)


def _exact_std(rows: Sequence[dict[str, Any]], key: tuple[str, float, int], metric: str) -> Any:
    spreads = sorted(
        (int(r["layer"]), float(r[f"{metric}_std"]))
        for r in rows
        if (r["method"], float(r["threshold"]), int(r["width"])) == key and r.get(f"{metric}_std") is not None
    )
    return np.array([value for _, value in spreads]) if spreads else None


Arrays = dict[str, npt.NDArray[np.float64]]
Extras = Callable[[tuple[str, float, int], str], dict[str, Any]]
"""For a (method, threshold, width) key and a metric: the exact spread and the simulated overlay, if any."""


def _heatmaps(plt: Any, spec: FigureSpec, data: dict[Any, Arrays], methods: list[str]) -> Any:
    """Fig. 5: Var[u_l^t] and spikes as (layer, step) heat maps, one column per method."""
    fig, axes = plt.subplots(2, len(methods), figsize=(5 * len(methods), 8), squeeze=False)
    for column, method in enumerate(methods):
        arrays = data[(method, spec.thresholds[0], spec.widths[0])]
        for row, (metric, label) in enumerate((("var_u", "Var[u_l^t]"), ("spikes", "spikes"))):
            image = axes[row][column].imshow(
                np.nanmean(arrays[metric], axis=0), aspect="auto", origin="lower", cmap="viridis"
            )
            axes[row][column].set(title=f"{method}: {label}", xlabel="time step t", ylabel="layer l")
            fig.colorbar(image, ax=axes[row][column])
    return fig


def _shape_panels(plt: Any, spec: FigureSpec, data: dict[Any, Arrays], methods: list[str]) -> Any:
    """Fig. 7: the proposed Var[u_l^t] heat map, and skewness and excess kurtosis per layer."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    ours = data.get(("micheli2024", spec.thresholds[0], spec.widths[0]))
    if ours is not None:
        image = axes[0].imshow(np.nanmean(ours["var_u"], axis=0), aspect="auto", origin="lower", cmap="viridis")
        axes[0].set(title="micheli2024: Var[u_l^t]", xlabel="time step t", ylabel="layer l")
        fig.colorbar(image, ax=axes[0])
    for index, method in enumerate(methods):
        arrays = data[(method, spec.thresholds[0], spec.widths[0])]
        _band(axes[1], _per_layer(arrays, "skew_u"), method, index)
        _band(axes[2], _per_layer(arrays, "kurt_u"), method, index)
    axes[1].set(title="skewness of u_l (mean over steps)", xlabel="layer l")
    axes[2].set(title="excess kurtosis of u_l (mean over steps)", xlabel="layer l")
    axes[1].legend()
    return fig


def _threshold_panels(plt: Any, spec: FigureSpec, data: dict[Any, Arrays], methods: list[str], extras: Extras) -> Any:
    """Figs. 2 and 4: Var[u_l] per layer, one line per threshold, one panel per method (2) or width (4)."""
    panels = methods if spec.number == 2 else [f"n = {w}" for w in spec.widths]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False, sharey=True)
    for index, panel in enumerate(panels):
        ax = axes[0][index]
        for order, theta in enumerate(spec.thresholds):
            key = (panel, theta, spec.widths[0]) if spec.number == 2 else (methods[0], theta, spec.widths[index])
            if key in data:
                _band(ax, _per_layer(data[key], "var_u"), f"theta = {theta:g}", order, **extras(key, "var_u"))
        ax.set(title=panel, xlabel="layer l", ylabel="Var[u_l]")
        ax.legend(fontsize="small")
    return fig


def _method_panels(plt: Any, spec: FigureSpec, data: dict[Any, Arrays], methods: list[str], extras: Extras) -> Any:
    """Figs. 3 and 6: Var[u_l] and spikes per layer, one line per method."""
    fig, axes = plt.subplots(1, 2, figsize=(14.5, 4.5))
    for index, method in enumerate(methods):
        key = (method, spec.thresholds[0], spec.widths[0])
        arrays = data[key]
        _band(axes[0], _per_layer(arrays, "var_u"), method, index, **extras(key, "var_u"))
        _band(axes[1], _per_layer(arrays, "spikes"), method, index, **extras(key, "spikes"))
    suffix = " (mean over steps)" if spec.steps > 1 else ""
    axes[0].set(title=f"Var[u_l]{suffix}", xlabel="layer l")
    axes[1].set(title=f"spikes per layer{suffix}", xlabel="layer l")
    axes[1].legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))  # outside: no curve hidden
    return fig


def plot_figure(
    spec: FigureSpec,
    backend: str,
    rows: Sequence[dict[str, Any]],
    stem: Path,
    *,
    overlay: Sequence[dict[str, Any]] = (),
) -> tuple[Path, Path]:
    """Draw the figure and save it as ``stem.png`` and ``stem.pdf``.

    Args:
        spec: The figure.
        backend: The backend the rows come from.
        rows: The tidy rows.
        stem: Path without suffix.
        overlay: Simulated rows drawn as markers over the curves (the exact backend's check).

    Returns:
        The two paths.
    """
    plt = pyplot()
    data = aggregate(rows)
    simulated = aggregate(overlay) if overlay else {}

    def extras(key: tuple[str, float, int], metric: str) -> dict[str, Any]:
        sim = simulated.get(key)
        return {"std": _exact_std(rows, key, metric), "simulated": None if sim is None else _per_layer(sim, metric)}

    methods = [m for m in spec.methods if any(key[0] == m for key in data)]
    if spec.number == 5:
        fig = _heatmaps(plt, spec, data, methods)
    elif spec.number == 7:
        fig = _shape_panels(plt, spec, data, methods)
    elif spec.number in (2, 4):
        fig = _threshold_panels(plt, spec, data, methods, extras)
    else:
        fig = _method_panels(plt, spec, data, methods, extras)
    note = "; lines: exact law, dots: simulated" if overlay else ""
    fig.suptitle(f"Fig. {spec.number} ({backend} backend{note}): {spec.title}", fontsize="medium")
    return save_figure(plt, fig, stem)


def plot_variance_map(stem: Path, thresholds: Sequence[float] = (0.5, 0.85, 1.0, 1.25)) -> tuple[Path, Path]:
    """The mean-field variance map f(V) for several thresholds, with its fixed points marked.

    Each curve is the next layer's membrane variance under the paper's weights as a function of this
    layer's; where it crosses the diagonal the variance is a fixed point: V = 1 (stable while the
    slope is below 1) and the lower, unstable V_u below which activity collapses.

    Returns:
        The PNG and PDF paths.
    """
    from snninit_adapters.theory import lower_fixed_point, variance_map, variance_map_slope

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    v = np.linspace(0.0, 2.0, 401)
    ax.plot(v, v, color="black", linewidth=0.8, label="f(V) = V")
    for index, theta in enumerate(thresholds):
        (line,) = ax.plot(v, variance_map(v, theta), linestyle=STYLES[index % len(STYLES)],
                          label=f"theta = {theta:g} (slope at 1: {variance_map_slope(theta):.2f})")  # fmt: skip
        lower = lower_fixed_point(theta)
        if lower is not None:
            ax.plot([lower], [lower], "o", color=line.get_color(), markerfacecolor="white")
    ax.plot([1.0], [1.0], "o", color="black")
    ax.set(xlabel="Var[u_l]", ylabel="Var[u_{l+1}]", title="Mean-field variance map (open circles: collapse points)")
    ax.legend(fontsize="small")
    stem.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(plt, fig, stem)
