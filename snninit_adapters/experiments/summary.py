"""The Markdown summary of a propagation figure: the paper's claim next to the measured numbers.

:func:`~snninit_adapters.experiments.claims.claims` turns each figure's claims into checks on the
measured numbers; the summary prints them with "holds" or "does not hold" and their tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from snninit_adapters.backends import get_backend
from snninit_adapters.experiments.claims import Claim, aggregate, claims, deepest_active, first_silent, fmt, last
from snninit_adapters.experiments.figures import FigureSpec
from snninit_adapters.experiments.laws import method_laws
from snninit_adapters.theory import Dynamics

__all__ = ["Claim", "aggregate", "claims", "summarise", "weight_law_groups"]


def _table(spec: FigureSpec, rows: Sequence[dict[str, Any]]) -> list[str]:
    data = aggregate(rows)
    lines = [
        f"| method | theta | n | Var[u_{spec.depth}] | spikes at layer {spec.depth} | deepest layer with spikes "
        "| first silent layer |" + (" skewness | excess kurtosis |" if spec.number == 7 else ""),
        "|---|---|---|---|---|---|---|" + ("---|---|" if spec.number == 7 else ""),
    ]
    for (method, theta, width), arrays in sorted(data.items(), key=lambda kv: (spec.methods.index(kv[0][0])
                                                                                if kv[0][0] in spec.methods else 99,
                                                                                kv[0][1], kv[0][2])):  # fmt: skip
        var_text, spikes_text = fmt(last(arrays, "var_u")), fmt(last(arrays, "spikes"))
        exact = {r["layer"]: r for r in rows if r.get("survival") is not None and
                 (r["method"], float(r["threshold"]), int(r["width"])) == (method, theta, width)}  # fmt: skip
        if spec.depth in exact:  # the exact backend: its own spread over networks
            row = exact[spec.depth]
            var_text = f"{float(row['var_u']):.3g} ± {float(row['var_u_std']):.2g}"
            spikes_text = f"{float(row['spikes']):.3g} ± {float(row['spikes_std']):.2g}"
        line = f"| {method} | {theta:g} | {width} | {var_text} | {spikes_text} | {fmt(deepest_active(arrays))} "
        line += f"| {first_silent(arrays) or '-'} |"
        if spec.number == 7:
            line += f" {np.nanmean(arrays['skew_u'][:, 1:, :]):.3g} | {np.nanmean(arrays['kurt_u'][:, 1:, :]):.3g} |"
        lines.append(line)
    return lines


def summarise(spec: FigureSpec, backend: str, rows: Sequence[dict[str, Any]]) -> str:
    """The figure's Markdown summary: settings, the paper's claim, the measured table and the claim checks."""
    steps = "one step" if spec.steps == 1 else f"{spec.steps} steps (values averaged over steps)"
    lines = [
        f"# Fig. {spec.number}: {spec.title}",
        "",
        f"Backend `{backend}`; {spec.depth} layers, n = {', '.join(map(str, spec.widths))}, {spec.runs} runs, "
        f"{steps}, beta = {spec.beta:g}, soft reset. Values are mean ± std over runs.",
        "",
        f"**Paper (Micheli et al. 2024):** {spec.claim}",
        "",
        *_table(spec, rows),
        "",
        "## Claims checked on these numbers",
        "",
    ]
    for claim in claims(spec, rows):
        verdict = "holds" if claim.holds else "does not hold"
        lines.append(f"- {claim.text}: **{verdict}** ({claim.detail}; judged: {claim.tolerance})")
    lines += _survival_table(spec, rows)
    lines += _law_groups(spec, backend)
    notes = _backend_notes(backend)
    if notes:
        lines += ["", "## How this backend differs from the paper's model", "", *[f"- {note}" for note in notes]]
    return "\n".join(lines) + "\n"


def _survival_table(spec: FigureSpec, rows: Sequence[dict[str, Any]]) -> list[str]:
    """For the exact backend: P(activity survives to the last layer) per method, threshold and width."""
    last = [r for r in rows if int(r["layer"]) == spec.depth and r.get("survival") is not None]
    if not last:
        return []
    lines = [
        "",
        f"## Exact probability that activity survives to layer {spec.depth}",
        "",
        "| method | theta | n | P(k_L > 0) |",
        "|---|---|---|---|",
    ]
    for r in sorted(last, key=lambda r: (str(r["method"]), float(r["threshold"]), int(r["width"]))):
        lines.append(f"| {r['method']} | {float(r['threshold']):g} | {r['width']} | {float(r['survival']):.4g} |")
    return lines


def _backend_notes(backend: str) -> list[str]:
    if backend == "exact":
        return [
            "Not a simulation: the exact finite-width law of one step (the spike-count Markov chain), for the "
            "methods with zero-mean normal weights; values are expectations over networks and the ± column is "
            "their exact spread. The figure overlays the reference backend's simulated means as dots."
        ]
    if backend == "reference":
        return [
            "It is the paper's model: Eq. 2/13 in snnTorch Leaky's timing (a spike's reset is subtracted one "
            "step later), input gain 1, the constant input fed to the first layer's membrane at every step."
        ]
    return list(get_backend(backend).notes)


def weight_law_groups(spec: FigureSpec, theta: float, input_gain: float = 1.0) -> list[tuple[str, ...]]:
    """The figure's methods grouped by the weight law they draw for a deep layer of neurons with input gain g.

    Methods in one group draw weights of one mean and std (to 1e-9; a uniform law is marked): their
    curves coincide up to the noise of their own draws, or exactly where they share it (the reference
    backend draws every method from one noise).
    """
    dynamics = Dynamics(beta=spec.beta, theta=theta, steps=spec.steps) if theta > 0 else None
    methods = [m for m in spec.methods if dynamics is not None or m != "micheli2024_temporal"]
    groups: dict[tuple[float, float], list[str]] = {}
    for method, laws in method_laws(methods, spec.widths[0], theta, dynamics, input_gain=input_gain).items():
        law = laws[1] if isinstance(laws, tuple) else laws
        key = (round(law.std * spec.widths[0] ** 0.5, 9), round(law.mean, 12))
        groups.setdefault(key, []).append(method + (" (uniform)" if law.distribution == "uniform" else ""))
    return [tuple(group) for group in groups.values()]


def _law_groups(spec: FigureSpec, backend: str) -> list[str]:
    """Which of the figure's methods share one weight law (Figs. 3 and 6: three laws for eight methods)."""
    if len(spec.methods) < 3:
        return []
    theta = max(spec.thresholds)
    gain = 1.0 if backend in ("reference", "exact") else get_backend(backend).input_gain(spec.beta)
    groups = [g for g in weight_law_groups(spec, theta, gain) if len(g) > 1]
    if not groups:
        return []
    where = f"theta = {theta:g}, n = {spec.widths[0]}, input gain g = {gain:g}"
    lines = ["", f"## Methods that draw the same weights here ({where})", ""]
    lines += [f"- {' = '.join(group)}: one mean and std, so their curves coincide" for group in groups]
    return lines
