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

from snninit_adapters.experiments.claims import aggregate
from snninit_adapters.experiments.figures import FigureSpec
from snninit_adapters.plotting import pyplot, save_figure

__all__ = ["plot_figure"]


STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "h", "<")
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
           "tab:cyan", "tab:gray")  # fmt: skip
VAR = r"$\mathrm{Var}[u_l]$"


def _style(index: int, layers: int) -> dict[str, Any]:
    """Line ``index``'s colour, marker and dash: distinct for up to ten lines, markers every few layers."""
    return {"color": COLOURS[index % len(COLOURS)], "marker": MARKERS[index % len(MARKERS)], "markersize": 4,
            "linestyle": STYLES[index % len(STYLES)], "markevery": max(1, layers // 10)}  # fmt: skip


def _band(
    ax: Any,
    values: npt.NDArray[np.float64],
    label: str,
    index: int = 0,
    std: npt.NDArray[np.float64] | None = None,
    simulated: npt.NDArray[np.float64] | None = None,
    same_as: str | None = None,
) -> None:
    """Mean over runs (axis 0) against the weight layers 1..L, with a band of one standard deviation.

    Layer 0, the encoding layer, is left out: the axis counts the network's layers as the paper does.
    ``std`` gives the band directly (the exact backend's spread over networks); ``simulated`` (runs x
    layers) is overlaid as dots. ``same_as`` names an earlier line this one coincides with: it is drawn
    dashed and thin on top, so both stay visible, and the legend says so.
    """
    with warnings.catch_warnings():  # layers where every run is silent have no skewness: NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)[1:]
        std = (np.nanstd(values, axis=0) if std is None else std)[1:]
    layers = np.arange(1, len(mean) + 1)
    style = _style(index, len(layers))
    if same_as is not None:
        label = f"{label} (identical to {same_as})"
        style.update(linestyle=(0, (4, 3)), linewidth=1.2, markerfacecolor="none", zorder=3)
    (line,) = ax.plot(layers, mean, label=label, **style)
    if simulated is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ax.plot(layers, np.nanmean(simulated, axis=0)[1:], ".", markersize=3, color=line.get_color())
    if same_as is None:  # a coincident line's band is the earlier line's
        ax.fill_between(layers, mean - std, mean + std, color=line.get_color(), alpha=0.15)


def _layer_axis(ax: Any, depth: int) -> None:
    """Integer ticks on the layer axis, from layer 1 to the last."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=10))
    ax.set_xlim(0.5, depth + 0.5)


def _coincident(data: dict[Any, Arrays], keys: list[Any], names: list[str]) -> dict[Any, str]:
    """For each key whose numbers equal an earlier key's exactly: that key's name (bit-identical curves)."""
    same: dict[Any, str] = {}
    for index, key in enumerate(keys):
        for earlier, name in zip(keys[:index], names, strict=False):
            if earlier not in same and all(np.array_equal(data[key][m], data[earlier][m], equal_nan=True)
                                           for m in ("var_u", "spikes")):  # fmt: skip
                same[key] = name
                break
    return same


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
        for row, (metric, label) in enumerate((("var_u", r"$\mathrm{Var}[u_l^t]$"), ("spikes", "spikes"))):
            _heatmap(fig, axes[row][column], np.nanmean(arrays[metric], axis=0), f"{method}: {label}")
    return fig


def _shape_panels(plt: Any, spec: FigureSpec, data: dict[Any, Arrays], methods: list[str]) -> Any:
    """Fig. 7: the proposed Var[u_l^t] heat map, and skewness and excess kurtosis per layer."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    ours = data.get(("micheli2024", spec.thresholds[0], spec.widths[0]))
    if ours is not None:
        _heatmap(fig, axes[0], np.nanmean(ours["var_u"], axis=0), r"micheli2024: $\mathrm{Var}[u_l^t]$")
    for index, method in enumerate(methods):
        arrays = data[(method, spec.thresholds[0], spec.widths[0])]
        _band(axes[1], _per_layer(arrays, "skew_u"), method, index)
        _band(axes[2], _per_layer(arrays, "kurt_u"), method, index)
    axes[1].set(title="skewness of $u_l$ (mean over steps)", xlabel="layer $l$")
    axes[2].set(title="excess kurtosis of $u_l$ (mean over steps)", xlabel="layer $l$")
    for ax in axes[1:]:
        _layer_axis(ax, spec.depth)
    axes[2].legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def _heatmap(fig: Any, ax: Any, values: npt.NDArray[np.float64], title: str) -> None:
    """A (layer, step) heat map of layers 1..L and steps 1..T, integer ticks on both axes."""
    from matplotlib.ticker import MaxNLocator

    layers, steps = values[1:].shape
    image = ax.imshow(values[1:], aspect="auto", origin="lower", cmap="viridis",
                      extent=(0.5, steps + 0.5, 0.5, layers + 0.5))  # fmt: skip
    ax.set(title=title, xlabel="time step $t$", ylabel="layer $l$")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.colorbar(image, ax=ax)


def _threshold_panels(plt: Any, spec: FigureSpec, data: dict[Any, Arrays], methods: list[str], extras: Extras) -> Any:
    """Figs. 2 and 4: Var[u_l] per layer, one line per threshold, one panel per method (2) or width (4)."""
    panels = methods if spec.number == 2 else [f"n = {w}" for w in spec.widths]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False, sharey=True)
    for index, panel in enumerate(panels):
        ax = axes[0][index]
        for order, theta in enumerate(spec.thresholds):
            key = (panel, theta, spec.widths[0]) if spec.number == 2 else (methods[0], theta, spec.widths[index])
            if key in data:
                _band(ax, _per_layer(data[key], "var_u"), rf"$\theta$ = {theta:g}", order, **extras(key, "var_u"))
        ax.set(title=panel, xlabel="layer $l$", ylabel=VAR)
        _layer_axis(ax, spec.depth)
    axes[0][-1].legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))  # outside: no curve hidden
    return fig


def _method_panels(plt: Any, spec: FigureSpec, data: dict[Any, Arrays], methods: list[str], extras: Extras) -> Any:
    """Figs. 3 and 6: Var[u_l] and spikes per layer, one line per method, and the spikes on a log scale.

    Methods whose numbers are bit-identical to an earlier method's (one weight law, one noise) are
    drawn dashed over it and named so in the legend.
    """
    fig, axes = plt.subplots(1, 3, figsize=(19, 4.8))
    keys = [(method, spec.thresholds[0], spec.widths[0]) for method in methods]
    same = _coincident(data, keys, methods)
    for index, (method, key) in enumerate(zip(methods, keys, strict=True)):
        arrays = data[key]
        for ax, metric in zip(axes, ("var_u", "spikes", "spikes"), strict=True):
            _band(ax, _per_layer(arrays, metric), method, index, **extras(key, metric), same_as=same.get(key))
    suffix = " (mean over steps)" if spec.steps > 1 else ""
    axes[0].set(title=f"{VAR}{suffix}", xlabel="layer $l$")
    axes[1].set(title=f"spikes per layer{suffix}", xlabel="layer $l$")
    axes[2].set(title=f"spikes per layer{suffix}, log scale (0 at the bottom)", xlabel="layer $l$")
    axes[2].set_yscale("symlog", linthresh=1.0)
    for ax in axes:
        _layer_axis(ax, spec.depth)
    axes[2].legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))  # outside: no curve hidden
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
    steps = "one step" if spec.steps == 1 else f"{spec.steps} steps"
    runs = f"{spec.runs} run" + ("s" if spec.runs != 1 else "")
    settings = f"{spec.depth} layers of {', '.join(map(str, spec.widths))}, {runs}, {steps}, beta = {spec.beta:g}"
    fig.suptitle(f"Fig. {spec.number} ({backend} backend{note}): {spec.title}\n{settings}", fontsize="medium")
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
                          label=rf"$\theta$ = {theta:g} (slope at 1: {variance_map_slope(theta):.2f})")  # fmt: skip
        lower = lower_fixed_point(theta)
        if lower is not None:
            ax.plot([lower], [lower], "o", color=line.get_color(), markerfacecolor="white")
    ax.plot([1.0], [1.0], "o", color="black")
    ax.set(
        xlabel=VAR, ylabel=r"$\mathrm{Var}[u_{l+1}]$", title="Mean-field variance map (open circles: collapse points)"
    )
    ax.legend(fontsize="small")
    stem.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(plt, fig, stem)
