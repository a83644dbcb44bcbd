"""Shared setup of the integration tests: a deep one-step network and its spike counts per layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from snninit_adapters.experiments.simulate import LayerStats, layer_stats

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
