"""Shared setup of the integration tests: a deep one-step network and its spike counts per layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from snninit_adapters import NeuronRecord
from snninit_adapters.dynamics import neuron_dynamics
from snninit_adapters.experiments.simulate import LayerStats, layer_stats
from snninit_adapters.theory import integrate

DEPTH, WIDTH, SEEDS = 10, 1000, (0, 1, 2, 3, 4)


def spike_counts(
    make_neuron: Callable[[], nn.Module],
    initialise: Callable[[torch.Tensor, torch.Generator], object],
    *,
    step: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
    input_gain: float = 1.0,
    depth: int = DEPTH,
    width: int = WIDTH,
    seeds: tuple[int, ...] = SEEDS,
) -> list[float]:
    """Mean spike count per block of ``depth`` x (Linear(width, width) -> neuron) after one step.

    As in the paper's Sec. IV-A, the N(0, 1) input goes straight into the membranes of a first neuron
    layer, which encodes it into spikes; every ``Linear`` then reads spikes. The input is divided by the
    neurons' ``input_gain`` g so that the encoding layer's membrane is N(0, 1), as the paper assumes.
    """
    step = step or (lambda neuron, x: neuron(x))
    totals = [0.0] * depth
    for seed in seeds:
        generator = torch.Generator().manual_seed(seed)
        x = torch.randn(1, width, generator=generator)
        with torch.no_grad():
            x = step(make_neuron(), x / input_gain)
            for block in range(depth):
                linear = nn.Linear(width, width, bias=False)
                initialise(linear.weight, generator)
                x = step(make_neuron(), linear(x))
                totals[block] += float(x.sum()) / len(seeds)
    return totals


def disjoint_binary_input(n: int = 1000, k: int = 159, rows: int = 6, seed: int = 0) -> torch.Tensor:
    """``rows`` binary inputs with k ones each on disjoint positions: Wx uses distinct weights per row."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    x = torch.zeros(rows, n)
    for row in range(rows):
        x[row, perm[row * k : (row + 1) * k]] = 1.0
    return x


def reset_in_the_spike_step(
    weights: Sequence[torch.Tensor],
    drive: torch.Tensor,
    *,
    steps: int,
    beta: float,
    theta: float,
    gain: float = 1.0,
    fires_at_threshold: bool = False,
) -> LayerStats:
    """The dynamics the backend notes give SpikingJelly's and Norse's neurons, in float64.

    u[t] = beta (u[t-1] - theta S[t-1]) + g W x[t]: the reset is subtracted in the spike's own step,
    before the leak. S = H(u - theta), with u >= theta when ``fires_at_threshold`` (SpikingJelly) and
    u > theta otherwise (Norse). The encoding layer reads I_0 / g, as the backends feed it, times g.
    """
    current = gain * (drive.double() / gain).reshape(-1, 1).expand(-1, steps)
    membranes, spikes = [], []
    for index in range(len(weights) + 1):
        u = torch.zeros(current.shape[0], dtype=torch.float64)
        fired = torch.zeros_like(u, dtype=torch.bool)
        columns, spiked = [], []
        for t in range(steps):
            u = beta * (u - theta * fired) + current[:, t]
            fired = u >= theta if fires_at_threshold else u > theta
            columns.append(u)
            spiked.append(fired)
        membranes.append(torch.stack(columns, dim=1))
        spikes.append(torch.stack(spiked, dim=1))
        if index < len(weights):
            current = gain * (weights[index].double() @ spikes[-1].double())
    return layer_stats(membranes, spikes)


def recorded_dynamics_mismatch(
    record: NeuronRecord,
    run: Callable[[torch.Tensor], torch.Tensor],
    *,
    neurons: int = 4000,
    steps: int = 12,
    seed: int = 0,
) -> float:
    """The fraction of spikes on which a framework neuron and its record's dynamics disagree.

    ``run`` takes the neurons' input ``[T, neurons]`` and returns their spikes ``[T, neurons]``; it is
    given ``current / g``, so that the membrane's input is ``current``. The record's leak, reset kind
    and timing and threshold drive the theory's own LIF step (:func:`snninit_adapters.theory.integrate`).
    """
    dynamics, _ = neuron_dynamics(record, steps)
    assert dynamics is not None, record
    current = 1.5 * torch.randn(steps, neurons, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    with torch.no_grad():
        spikes = run((current / dynamics.gain).float()).double().numpy()
    expected, _ = integrate(current.numpy() / dynamics.theta, dynamics)
    return float((spikes != expected).mean())


class TimeLoop(nn.Module):
    """An encoding neuron layer, then ``depth`` Linear -> neuron blocks, run over ``steps`` steps of one input.

    The time loop is inside ``forward``, as in the frameworks' tutorials. ``cells``: the neurons take
    and return a state (Norse cells: ``out, state = cell(x, state)``); else they keep it themselves.
    The input is divided by ``input_gain`` so that the encoding membrane's input is ``x``.
    """

    def __init__(self, make_neuron, *, depth=20, width=600, steps=10, cells=False, input_gain=1.0):
        super().__init__()
        self.steps, self.cells, self.input_gain = steps, cells, input_gain
        self.linears = nn.ModuleList(nn.Linear(width, width, bias=False) for _ in range(depth))
        self.neurons = nn.ModuleList(make_neuron() for _ in range(depth + 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states: list[object] = [None] * len(self.neurons)
        out = []
        for _ in range(self.steps):
            h = x / self.input_gain
            for index, neuron in enumerate(self.neurons):
                if index:
                    h = self.linears[index - 1](h)
                if self.cells:
                    h, states[index] = neuron(h, states[index])
                else:
                    h = neuron(h)
            out.append(h)
        return torch.stack(out)


def temporal_rule_rates(model: TimeLoop) -> list[float]:
    """Initialise ``model`` with the temporal rule on a seeded batch (T counted on it); the rates it gives.

    Checks that the rule counted the model's 10 steps and kept the last layer's time-averaged rate within
    15% of layer 1's (600 neurons, 8 samples: the finite-width spread).
    """
    from snninit_adapters import apply_snn_init

    torch.manual_seed(0)
    x = torch.randn(8, 600)
    report = apply_snn_init(model, x, method="micheli2024_temporal")
    assert report.steps == 10
    rates = time_averaged_rates(model, x)
    assert abs(rates[-1] - rates[1]) <= 0.15 * rates[1], rates
    return rates


def time_averaged_rates(model: TimeLoop, x: torch.Tensor) -> list[float]:
    """Each neuron layer's firing rate averaged over the steps (encoding layer first), by the activity monitor."""
    from snninit_adapters import measure_activity

    report = measure_activity(model, x)
    return [sum(row.rate for row in report.layer(name)) / model.steps for name in report.layers]


def check_temporal_grid(backend: str, out) -> None:
    """Figure T1 on a framework backend, for beta 0.5 and 0.9 at theta = 1 (CI's quick depth and steps).

    The temporal rule keeps every stable cell (a lifted target included) within 4 finite-width standard errors of
    layer 1's rate (the ratio of two layers' rates over n neurons has one of at most
    sqrt(2 (1 - r) / (n r))), and Eq. 10 does worse on average over the cells.
    """
    import math
    from dataclasses import replace

    import numpy as np

    from snninit_adapters.experiments.temporal import run_temporal_grid
    from snninit_adapters.experiments.temporal_cells import GRID, METHODS
    from snninit_adapters.experiments.temporal_summary import cell_results

    spec = replace(GRID.quick(), betas=(0.5, 0.9), thetas=(1.0,))
    result = run_temporal_grid(backend=backend, out=out, grid=spec, progress=False, plot=False)
    results = cell_results(spec, result.rows)
    assert results, result.summary
    deviations = {method: [] for method in METHODS}
    for cell in results:
        rate = float(cell.rates[METHODS[1]][1])
        if cell.theory.stable:
            error = math.sqrt(2 * (1 - rate) / (spec.width * rate))
            for layer in spec.checked:
                assert abs(cell.ratio(METHODS[1], layer) - 1) <= 4 * error, (cell.reset, cell.source, cell.beta)
        for method in METHODS:
            deviations[method].append(abs(cell.ratio(method, spec.depth) - 1))
    assert np.mean(deviations[METHODS[0]]) > np.mean(deviations[METHODS[1]]), deviations
    assert "# Fig. T1" in result.summary
