r"""Figure T1, beyond the paper: is activity constant over depth *and* time, under Eq. 10 and the temporal rule?

The grid: leak :math:`\beta \in \{0, 0.5, 0.9, 0.95\}`, threshold :math:`\theta \in \{0.5, 1, 2\}`,
four reset orderings (soft after the leak, the paper's Eq. 13; soft before the leak, SpikingJelly's
and Norse's; hard; none) and two inputs (the paper's encoding layer fed a constant current, and
i.i.d. Bernoulli spikes at the paper's rate :math:`Q(\theta)`). Each cell runs the deep network
(``depth`` layers of ``width`` neurons, ``steps`` steps) under Eq. 10 (``micheli2024``) and under the
temporal rule (``micheli2024_temporal``) and records each layer's time-averaged firing rate. The
summary sets the ratio of the rate at layers 10, 50 and 100 to layer 1 beside what the theory says of
the cell: whether the target rate is feasible (or lifted to the floor), the deep fixed point's
stability factor and period. A framework backend builds the network from its own neurons and runs
the orderings its neuron has; the others are n/a.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from snninit_adapters.experiments.laws import method_laws
from snninit_adapters.experiments.seeds import cell_seed
from snninit_adapters.experiments.simulate import LayerStats, simulate_networks
from snninit_adapters.theory import Dynamics, TemporalVariance, temporal_weight_variance

__all__ = [
    "COLUMNS",
    "GRID",
    "METHODS",
    "ORDERINGS",
    "GridSpec",
    "grid_cells",
]

METHODS = ("micheli2024", "micheli2024_temporal")
"""Eq. 10 and the temporal rule."""

COLUMNS = ("figure", "backend", "reset", "timing", "source", "beta", "theta", "run", "method", "layer", "rate", "var_u")
"""The tidy table's columns: one row per cell, run, method and layer (rate and Var[u] averaged over steps)."""

ORDERINGS = (("soft", "after_leak"), ("soft", "before_leak"), ("hard", "before_leak"), ("none", "before_leak"))
"""The reset kinds and timings of the grid (the timing of a hard or no reset changes nothing)."""


@dataclass(frozen=True)
class GridSpec:
    r"""The settings of figure T1.

    Attributes:
        betas: Leaks.
        thetas: Thresholds.
        orderings: (reset kind, timing) pairs.
        sources: ``"constant"`` (the encoding layer) and ``"bernoulli"`` (i.i.d. spikes at :math:`Q(\theta)`).
        depth: Weight layers.
        width: Neurons per layer.
        steps: Time steps.
        runs: Networks per cell.
    """

    betas: tuple[float, ...] = (0.0, 0.5, 0.9, 0.95)
    thetas: tuple[float, ...] = (0.5, 1.0, 2.0)
    orderings: tuple[tuple[str, str], ...] = ORDERINGS
    sources: tuple[str, ...] = ("constant", "bernoulli")
    depth: int = 100
    width: int = 1000
    steps: int = 20
    runs: int = 3

    def quick(self) -> GridSpec:
        """The CI version: 30 layers, 10 steps, one run (the same width: narrower layers add Fig. 4's effect)."""
        return replace(self, depth=30, steps=10, runs=1)

    @property
    def checked(self) -> tuple[int, ...]:
        """The layers compared with layer 1: 10, 50 and 100 where the network has them, and the last."""
        return tuple(sorted({layer for layer in (10, 50, 100) if layer <= self.depth} | {self.depth}))


GRID = GridSpec()
"""Figure T1 at full scale."""


def dynamics_of(cell: Mapping[str, Any]) -> Dynamics:
    """The dynamics of a cell, as the theory takes them."""
    return Dynamics(beta=float(cell["beta"]), theta=float(cell["theta"]), reset=cell["reset"],
                    timing=cell["timing"], steps=int(cell["steps"]), input=cell["source"])  # fmt: skip


def theory_of(cell: Mapping[str, Any]) -> TemporalVariance:
    """What the theory says of a cell (cached per dynamics)."""
    return temporal_weight_variance(int(cell["width"]), dynamics_of(cell))


def _supported(backend: str, reset: str, timing: str, beta: float) -> bool:
    if backend == "reference":
        return True
    from snninit_adapters.backends import get_backend

    framework = get_backend(backend)
    try:
        framework.check_leak(beta)
        return framework.timing(reset) == timing
    except ValueError:
        return False


def grid_cells(spec: GridSpec, backend: str, *, seed: int = 0) -> Iterator[dict[str, Any]]:
    """The cells of the grid a backend can run, in a fixed order (one per setting and run; both methods)."""
    for reset, timing in spec.orderings:
        for source in spec.sources:
            for beta in spec.betas:
                for theta in spec.thetas:
                    if not _supported(backend, reset, timing, beta):
                        continue
                    for run in range(spec.runs):
                        yield {"figure": "T1", "backend": backend, "reset": reset, "timing": timing,
                               "source": source, "beta": beta, "theta": theta, "width": spec.width,
                               "depth": spec.depth, "steps": spec.steps, "run": run, "seed": seed}  # fmt: skip


def _reference(cell: Mapping[str, Any]) -> dict[str, LayerStats]:
    dynamics = dynamics_of(cell)
    generator = torch.Generator().manual_seed(cell_seed(cell))
    return simulate_networks(
        method_laws(METHODS, int(cell["width"]), dynamics.theta, dynamics),
        depth=int(cell["depth"]), width=int(cell["width"]), steps=dynamics.steps, beta=dynamics.beta,
        theta=dynamics.theta, generator=generator, reset=dynamics.reset, timing=dynamics.timing,
        input_rate=dynamics.bernoulli_rate if dynamics.input == "bernoulli" else None,
    )  # fmt: skip


def _framework(cell: Mapping[str, Any]) -> dict[str, LayerStats]:
    """Build the network from the framework's own neurons, initialise it with apply_snn_init, run it."""
    from snninit_adapters.apply import apply_snn_init
    from snninit_adapters.experiments.frameworks import build

    dynamics, width = dynamics_of(cell), int(cell["width"])
    generator = torch.Generator().manual_seed(cell_seed(cell))
    drive = torch.randn(width, generator=generator, dtype=torch.float64)
    sequence = (torch.rand(dynamics.steps, 1, width, generator=generator) < dynamics.bernoulli_rate).float()
    out = {}
    for method in METHODS:
        network = build(str(cell["backend"]), width=width, depth=int(cell["depth"]), beta=dynamics.beta,
                        theta=dynamics.theta, reset=dynamics.reset, encoding=dynamics.input == "constant")  # fmt: skip
        weights = torch.Generator().manual_seed(cell_seed({**cell, "draw": "weights"}))
        temporal = method == "micheli2024_temporal"
        if dynamics.input == "constant":
            options: dict[str, Any] = {"steps": dynamics.steps} if temporal else {}
            apply_snn_init(network.model, network.encode(drive), method=method, generator=weights, **options)
            out[method] = network.run(drive, dynamics.steps)
        else:
            options = {"data": "independent"} if temporal else {}
            apply_snn_init(network.loop, sequence, method=method, generator=weights, **options)
            out[method] = _with_input_layer(network.run_sequence(sequence), sequence)
    return out


def _with_input_layer(stats: LayerStats, sequence: torch.Tensor) -> LayerStats:
    """Prepend the Bernoulli input as layer 0 (its spike counts; no membrane), as the reference records it."""
    counts = sequence.double().sum(dim=(1, 2)).numpy()[None, :]
    nan = np.full_like(counts, math.nan)
    return LayerStats(*(np.vstack([first, rest]) for first, rest in zip(
        (nan, nan, nan, nan, counts), (stats.var_u, stats.mean_u, stats.skew_u, stats.kurt_u, stats.spikes), strict=True
    )))  # fmt: skip


def run_cell(cell: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Simulate one cell: per method and layer, the time-averaged rate and membrane variance."""
    simulated = _reference(cell) if cell["backend"] == "reference" else _framework(cell)
    keys = ("backend", "reset", "timing", "source", "beta", "theta", "run")
    rows = []
    for method, stats in simulated.items():
        rates = stats.spikes.mean(axis=1) / int(cell["width"])
        variances = [float(np.nanmean(row)) if np.isfinite(row).any() else math.nan for row in stats.var_u]
        for layer, (rate, variance) in enumerate(zip(rates, variances, strict=True)):
            rows.append({"figure": "T1", **{k: cell[k] for k in keys}, "method": method, "layer": layer,
                         "rate": float(rate), "var_u": float(variance)})  # fmt: skip
    return rows
