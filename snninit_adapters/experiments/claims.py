"""The paper's claims for the propagation figures (Figs. 2-7), each computed from the measured rows.

Every claim states the paper's words, the number it is judged on and its tolerance, fixed before
looking at any run: "keeps Var[u] = 1" means within :data:`KEPT` of 1 (a factor 1.25 either way),
"approximately conserves" within :data:`APPROXIMATELY` (a factor 2), "within about 5 layers" means
no spikes beyond layer :data:`FEW_LAYERS`, "slow decrease" keeps at least :data:`SLOW` of layer 1's
spikes, and a layer is silent when its mean spike count is below :data:`SILENT`. A claim's text does
not depend on the backend or the scale, so one claim is one row of the cross-backend table.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from snninit_adapters.experiments.figures import FigureSpec
from snninit_adapters.init import get_method

__all__ = ["Claim", "aggregate", "claims", "deepest_active", "first_silent", "fmt", "last"]

Key = tuple[str, float, int]  # method, threshold, width
Arrays = dict[str, npt.NDArray[np.float64]]
METRICS = ("var_u", "mean_u", "skew_u", "kurt_u", "spikes")
SILENT = 0.5  # mean spike count below which a layer counts as silent
KEPT = (0.8, 1.25)  # "keeps Var[u] = 1"
APPROXIMATELY = (0.5, 2.0)  # "approximately conserves the variance"
FEW_LAYERS = 10  # "fail beyond about 5 layers": twice the paper's about 5
SLOW = 0.5  # "a slow decrease in spike count": the last layer keeps half of layer 1's spikes
FIG4_LOST_ABOVE = {100: 0.85, 600: 0.95}
"""Fig. 4 as the paper states it: n = 100 cannot keep the activity for theta > 0.85; at n = 600 only
theta = 1 still degrades (of the figure's thresholds, those above 0.95)."""


@dataclass(frozen=True)
class Claim:
    """A claim of the paper and whether the measured numbers bear it out.

    Attributes:
        text: The claim, in the paper's terms (the same on every backend and scale).
        holds: Whether the measured numbers bear it out.
        detail: The measured numbers it was judged on.
        tolerance: How it is judged.
    """

    text: str
    holds: bool
    detail: str = ""
    tolerance: str = ""


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[Key, Arrays]:
    """Arrays of shape (runs, layers, steps) per (method, threshold, width) and metric."""
    grouped: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[(str(row["method"]), float(row["threshold"]), int(row["width"]))].append(row)
    result = {}
    for key, group in grouped.items():
        runs = 1 + max(int(r["run"]) for r in group)
        layers = 1 + max(int(r["layer"]) for r in group)
        steps = 1 + max(int(r["step"]) for r in group)
        arrays = {metric: np.full((runs, layers, steps), np.nan) for metric in METRICS}
        for r in group:
            for metric in METRICS:
                arrays[metric][int(r["run"]), int(r["layer"]), int(r["step"])] = float(r[metric])
        result[key] = arrays
    return result


def last(data: Arrays, metric: str) -> npt.NDArray[np.float64]:
    """Per run: the metric at the last layer, averaged over steps."""
    return np.asarray(np.nanmean(data[metric][:, -1, :], axis=1))


def deepest_active(data: Arrays) -> npt.NDArray[np.float64]:
    """Per run: the deepest layer whose mean spike count over steps is at least SILENT (-1: none)."""
    active = np.nanmean(data["spikes"], axis=2) >= SILENT
    return np.array([max((i for i, a in enumerate(row) if a), default=-1) for row in active], dtype=float)


def first_silent(data: Arrays) -> int | None:
    """The first weight layer (from 1) whose spike count, averaged over runs and steps, is below SILENT."""
    counts = _spikes_per_layer(data)
    return next((layer for layer in range(1, counts.size) if counts[layer] < SILENT), None)


def fmt(values: npt.NDArray[np.float64]) -> str:
    """Mean ± std over runs."""
    return f"{np.nanmean(values):.3g} ± {np.nanstd(values):.2g}"


def _spikes_per_layer(data: Arrays) -> npt.NDArray[np.float64]:
    """Per layer: the spike count averaged over runs and steps."""
    return np.asarray(np.nanmean(data["spikes"], axis=(0, 2)))


def _depth_ratio(counts: npt.NDArray[np.float64]) -> float:
    """The last layer's spike count over layer 1's (NaN when layer 1 is silent)."""
    return float(counts[-1] / counts[1]) if counts[1] > 0 else math.nan


def _silent_text(data: Arrays) -> str:
    layer = first_silent(data)
    return "no layer silent" if layer is None else f"first silent layer: {layer}"


def _within(value: float, band: tuple[float, float]) -> bool:
    return bool(band[0] <= value <= band[1])


Getter = Callable[..., "Arrays | None"]
"""Looks up one (method, threshold[, width]) of the aggregated rows; None when it was not run."""

_REACH = f"the mean spike count at the last layer is >= {SILENT} in every run"
_BAND = f"the mean over runs of Var[u] at the last layer lies in [{KEPT[0]}, {KEPT[1]}]"


def _proposed_reaches(spec: FigureSpec, get: Getter) -> list[Claim]:
    """Figs. 2, 3, 5-7: the proposed method's spikes reach the last layer at the figure's largest threshold."""
    theta = max(spec.thresholds)
    ours = get("micheli2024", theta)
    if ours is None:
        return []
    spikes = last(ours, "spikes")
    return [Claim(f"the proposed method's spikes reach the last layer at theta = {theta:g}",
                  bool((spikes >= SILENT).all()), f"spikes at the last layer: {fmt(spikes)}", _REACH)]  # fmt: skip


def _fig2_claims(spec: FigureSpec, get: Getter) -> list[Claim]:
    """Fig. 2: the proposed Var[u] stays at 1 for every threshold; Kaiming only works at theta = 0, worst at 1."""
    out: list[Claim] = []
    kept = {theta: float(np.mean(last(d, "var_u"))) for theta in spec.thresholds if (d := get("micheli2024", theta))}
    if kept:
        detail = ", ".join(f"{v:.3g}" for v in kept.values()) + f" at theta = {', '.join(f'{t:g}' for t in kept)}"
        out.append(Claim("the proposed method keeps Var[u_l] = 1 over all layers for every threshold",
                         all(_within(v, KEPT) for v in kept.values()), f"Var[u] at the last layer: {detail}",
                         _BAND + " at every threshold"))  # fmt: skip
    kaiming = {theta: d for theta in spec.thresholds if (d := get("kaiming", theta)) is not None}
    if kaiming:
        var = {theta: float(np.mean(last(d, "var_u"))) for theta, d in kaiming.items()}
        works = [theta for theta, v in var.items() if _within(v, KEPT)]
        detail = ", ".join(f"{v:.3g}" for v in var.values()) + f" at theta = {', '.join(f'{t:g}' for t in var)}"
        out.append(Claim("under Kaiming only theta = 0 keeps the variance", works == [0.0],
                         f"Var[u] at the last layer: {detail}", _BAND + " at theta = 0 and at no other"))  # fmt: skip
        silent = {theta: first_silent(d) for theta, d in kaiming.items()}
        order = {theta: math.inf if layer is None else layer for theta, layer in silent.items()}
        top = max(order)
        text = ", ".join(f"{'none' if layer is None else layer} at theta = {t:g}" for t, layer in silent.items())
        out.append(Claim("under Kaiming the activity dissipates worst near theta = 1",
                         order[top] < math.inf and all(order[top] <= v for v in order.values()),
                         f"first silent layer: {text}",
                         "the first silent layer (spikes averaged over runs below 0.5) comes no later at the "
                         "largest threshold than at any other"))  # fmt: skip
    return out


def _baseline_claims(spec: FigureSpec, get: Getter) -> list[Claim]:
    """Figs. 3 and 6: every baseline but Rossbroich et al. loses the activity within about 5 layers."""
    out: list[Claim] = []
    theta = max(spec.thresholds)
    for method in spec.methods:
        if method in ("micheli2024", "rossbroich2022") or get_method(method).temporal:
            continue
        other = get(method, theta)
        if other is not None:
            deepest = deepest_active(other)
            out.append(Claim(f"{method} fails to sustain the activity beyond about 5 layers",
                             bool(np.max(deepest) <= FEW_LAYERS),
                             f"deepest layer with spikes: {fmt(deepest)}; {_silent_text(other)}",
                             f"no run has a layer with >= {SILENT} spikes beyond layer {FEW_LAYERS}"))  # fmt: skip
    ross = get("rossbroich2022", theta)
    if ross is not None:
        spikes = last(ross, "spikes")
        out.append(Claim("rossbroich2022's spikes reach the last layer", bool((spikes >= SILENT).all()),
                         f"spikes at the last layer: {fmt(spikes)}", _REACH))  # fmt: skip
    return out


def _fig3_claims(spec: FigureSpec, get: Getter) -> list[Claim]:
    """Fig. 3: the proposed method keeps Var[u] constant."""
    ours = get("micheli2024", max(spec.thresholds))
    if ours is None:
        return []
    var = last(ours, "var_u")
    return [Claim("the proposed method keeps Var[u_l] constant", _within(float(np.mean(var)), KEPT),
                  f"Var[u] at the last layer: {fmt(var)}", _BAND)]  # fmt: skip


def _fig4_claims(spec: FigureSpec, get: Getter, rows: Sequence[dict[str, Any]]) -> list[Claim]:
    """Fig. 4: at each of the paper's widths, activity is lost at exactly the thresholds the paper names.

    A threshold loses the activity where the exact survival to the last layer is below 0.99 (exact
    backend) or where some run ends with a silent last layer (simulations). The claim holds when the
    thresholds that lose it are those above the paper's bound, on the figure's own threshold grid
    (its resolution, 0.05 near 1, is the tolerance).
    """
    survival = {(int(r["width"]), float(r["threshold"])): float(r["survival"]) for r in rows
                if r.get("survival") is not None and int(r["layer"]) == spec.depth}  # fmt: skip
    out: list[Claim] = []
    for width in (w for w in spec.widths if w in FIG4_LOST_ABOVE):
        if survival:
            lost = [t for t in spec.thresholds if survival.get((width, t), 1.0) < 0.99]
        else:
            lost = [t for t in spec.thresholds if (d := get("micheli2024", t, width)) is not None and
                    bool((last(d, "spikes") < SILENT).any())]  # fmt: skip
        expected = [t for t in spec.thresholds if t > FIG4_LOST_ABOVE[width]]
        how = "exact: P(activity reaches the last layer) < 0.99" if survival else "some run's last layer is silent"
        out.append(Claim(f"n = {width}: the activity is lost at the paper's thresholds and at no other",
                         lost == expected, f"paper: lost at {_thetas(expected)}; measured: lost at {_thetas(lost)}",
                         f"lost where {how}, on the figure's threshold grid"))  # fmt: skip
    return out


def _thetas(values: Sequence[float]) -> str:
    return "no threshold" if not values else "theta = " + ", ".join(f"{t:g}" for t in values)


def _fig5_claims(spec: FigureSpec, get: Getter) -> list[Claim]:
    """Fig. 5: the proposed method's spikes reach the last layer at every step; Kaiming loses them at every step."""
    theta = max(spec.thresholds)
    out: list[Claim] = []
    ours = get("micheli2024", theta)
    if ours is not None:
        per_step = np.nanmean(ours["spikes"][:, -1, :], axis=0)
        spread = f"min {per_step.min():.3g}, max {per_step.max():.3g}"
        out.append(Claim("the proposed method propagates the activity through layers and time steps",
                         bool((per_step >= SILENT).all()), f"spikes at the last layer, per step: {spread}",
                         f"the last layer's mean spike count over runs is >= {SILENT} at every step"))  # fmt: skip
    kaiming = get("kaiming", theta)
    if kaiming is not None:
        active = np.nanmean(kaiming["spikes"], axis=0) >= SILENT  # (layers, steps)
        deepest = max((layer for layer in range(active.shape[0]) if active[layer].any()), default=-1)
        out.append(Claim("Kaiming loses the activity within a few layers at every step", deepest <= FEW_LAYERS,
                         f"deepest layer with spikes at any step: {deepest}",
                         f"no layer beyond layer {FEW_LAYERS} has >= {SILENT} spikes (mean over runs) "
                         "at any step"))  # fmt: skip
    return out


def _fig6_claims(spec: FigureSpec, get: Getter) -> list[Claim]:
    """Fig. 6: averaged over steps, the variance is approximately conserved and the spike count decreases slowly."""
    ours = get("micheli2024", max(spec.thresholds))
    if ours is None:
        return []
    var = last(ours, "var_u")
    counts = _spikes_per_layer(ours)
    kept = _depth_ratio(counts)
    layer1 = float(np.nanmean(ours["var_u"][:, 1, :]))
    return [
        Claim("the proposed method approximately conserves the variance (averaged over steps)",
              _within(float(np.mean(var)), APPROXIMATELY),
              f"Var[u] averaged over steps: {layer1:.3g} at layer 1, {fmt(var)} at the last layer",
              f"the mean over runs and steps of Var[u] at the last layer lies in [{APPROXIMATELY[0]}, "
              f"{APPROXIMATELY[1]}]"),
        Claim("the proposed method's spike count decreases slowly with depth (averaged over steps)",
              bool(SLOW <= kept <= 1.0 + 1e-9),
              f"spikes averaged over runs and steps: {counts[1]:.3g} at layer 1, {counts[-1]:.3g} at the last "
              f"layer (ratio {kept:.3g})",
              f"the last layer keeps between {SLOW:g} and 1 times layer 1's spike count"),
    ]  # fmt: skip


def _temporal_claims(spec: FigureSpec, get: Getter) -> list[Claim]:
    """Beyond the paper (Figs. 5-7): the temporal rule keeps the step-averaged spike count over depth."""
    theta = max(spec.thresholds)
    ours, paper = get("micheli2024_temporal", theta), get("micheli2024", theta)
    if ours is None:
        return []

    kept = _depth_ratio(_spikes_per_layer(ours))
    detail = f"spikes at the last layer / layer 1, averaged over steps: {kept:.3g}"
    if paper is not None:
        detail += f" (Eq. 10: {_depth_ratio(_spikes_per_layer(paper)):.3g})"
    return [Claim("beyond the paper: the temporal rule keeps the activity over depth", bool(abs(kept - 1.0) <= 0.1),
                  detail, "the ratio lies within 10% of 1")]  # fmt: skip


def _fig7_claims(spec: FigureSpec, get: Getter) -> list[Claim]:
    """Fig. 7: under the reset u is left-skewed and heavy-tailed."""
    ours = get("micheli2024", max(spec.thresholds))
    if ours is None:
        return []
    skew = np.nanmean(ours["skew_u"][:, 1:, :])
    kurt = np.nanmean(ours["kurt_u"][:, 1:, :])
    return [
        Claim("u is left-skewed under the reset", bool(skew < 0), f"skewness {skew:.3g}",
              "skewness averaged over runs, weight layers and steps < 0"),
        Claim("u is heavy-tailed under the reset", bool(kurt > 0), f"excess kurtosis {kurt:.3g}",
              "excess kurtosis averaged over runs, weight layers and steps > 0"),
    ]  # fmt: skip


def claims(spec: FigureSpec, rows: Sequence[dict[str, Any]]) -> list[Claim]:
    """Check the figure's claims on the measured rows (the claims whose methods were not run are left out)."""
    data = aggregate(rows)

    def get(method: str, theta: float, width: int | None = None) -> Arrays | None:
        return data.get((method, theta, width if width is not None else spec.widths[0]))

    checks: dict[int, tuple[Callable[[FigureSpec, Getter], list[Claim]], ...]] = {
        2: (_proposed_reaches, _fig2_claims),
        3: (_proposed_reaches, _fig3_claims, _baseline_claims),
        5: (_fig5_claims, _temporal_claims),
        6: (_proposed_reaches, _fig6_claims, _baseline_claims, _temporal_claims),
        7: (_proposed_reaches, _fig7_claims, _temporal_claims),
    }
    if spec.number == 4:
        return _fig4_claims(spec, get, rows)
    return [claim for check in checks.get(spec.number, ()) for claim in check(spec, get)]
